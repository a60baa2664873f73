//! AppState, the router that puts the dialects side by side, and the server itself:
//! start-up (migrations, world, demo), the banner, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::ServeConfig;
use crate::demo;
use crate::domain::{Clock, Error, ids, ops};
use crate::limits::RateLimiter;
use crate::retention;
use crate::store::Store;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    /// The control plane's token, hashed.
    pub admin_token_hash: Arc<String>,
    pub limits: Arc<RateLimiter>,
    /// Counts failed authentication per address and credential (see `api::throttle`).
    pub auth_throttle: Arc<crate::api::throttle::AuthThrottle>,
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/_userplane", crate::api::control::router(state.clone()))
        .route("/_userplane/", crate::api::control::root_route())
        .nest("/client/v4", crate::api::cloudflare::router())
        .route("/client/v4/", crate::api::cloudflare::root_route())
        .merge(crate::api::zoom::router())
        .route("/metrics", axum::routing::get(crate::metrics::render))
        .fallback(crate::api::unknown_path)
        .with_state(state)
}

/// Routes that panic, one per dialect, for the test of the panic catcher only
/// (`ServeConfig::panic_routes`, which no flag sets).
fn panic_routes() -> Router {
    async fn panic() {
        panic!("the test-only panic route");
    }
    let route = axum::routing::get(panic);
    Router::new()
        .route("/v2/__panic", route.clone())
        .route("/client/v4/__panic", route.clone())
        .route("/_userplane/__panic", route)
}

/// A running server (for `serve` and for tests).
pub struct Server {
    pub addr: SocketAddr,
    pub admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    pruner: retention::Pruner,
}

impl Server {
    /// Opens the store, loads the world (or the demo world into an empty database),
    /// binds the listener and starts serving in the background.
    pub async fn start(config: &ServeConfig) -> Result<Server, String> {
        let policy = retention::Policy::from_config(config)?;
        // Bind before anything is written: a taken port must not leave behind a demo world
        // whose secrets were never shown.
        let listener =
            TcpListener::bind(&config.listen).await.map_err(|e| format!("listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let store = Store::open(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
        let clock = Clock;
        let admin_token = config.admin_token.clone().unwrap_or_else(|| ids::new_secret("upa_"));
        let loaded = load_world(&store, &clock, config).await?;
        let state = AppState {
            limits: Arc::new(RateLimiter::for_store(&store)),
            auth_throttle: Arc::new(crate::api::throttle::AuthThrottle::new(config.auth_throttle_limits())),
            admin_token_hash: Arc::new(store.secrets().hash(&admin_token)),
            store,
            clock,
        };
        if !config.quiet {
            demo::print_banner(addr, &admin_token, config.admin_token.is_none(), &loaded);
        }
        let pruner = retention::Pruner::start(state.store.clone(), clock, policy);
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = if config.panic_routes { panic_routes().merge(router(state)) } else { router(state) };
        let task = tokio::spawn(crate::http::serve(listener, app, config.connections.clone(), signal));
        Ok(Server { addr, admin_token, shutdown: Some(shutdown), task, pruner })
    }

    /// Runs a retention pass now (the background one runs every `--prune-every`).
    pub async fn prune_now(&self) -> Result<retention::Report, Error> {
        self.pruner.prune_now().await
    }

    /// Stops accepting, finishes the requests in flight, and returns.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// `userplane serve`: runs until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    crate::logging::init(config.log_format);
    crate::metrics::set_enabled(!config.no_metrics);
    let server = Server::start(&config).await?;
    tracing::info!(addr = %server.addr, "userplane is serving");
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// What start-up loaded, for the banner.
pub enum Loaded {
    /// The demo world was created now; its credentials in clear.
    Demo(demo::DemoCredentials),
    /// Tenants from `--world`: (account id, created now?).
    World(Vec<(String, bool)>),
    /// Nothing new: the database already holds state.
    Existing(usize),
    Nothing,
}

async fn load_world(store: &Store, clock: &Clock, config: &ServeConfig) -> Result<Loaded, String> {
    if let Some(path) = &config.world {
        let text = std::fs::read_to_string(path).map_err(|e| format!("world file {}: {e}", path.display()))?;
        #[derive(serde::Deserialize)]
        struct World {
            tenants: Vec<serde_json::Value>,
        }
        let world: World = serde_json::from_str(&text).map_err(|e| format!("world file {}: {e}", path.display()))?;
        // Every tenant is read and checked before anything is written, and the new ones
        // are created in one transaction: a bad file leaves the database as it was.
        let mut specs = Vec::with_capacity(world.tenants.len());
        let mut seen = std::collections::HashSet::new();
        for (i, doc) in world.tenants.into_iter().enumerate() {
            let spec = crate::api::tenants::spec(doc, store.secrets())
                .map_err(|e| format!("world file {}: tenants[{i}]: {e}", path.display()))?;
            if !seen.insert(spec.account_id.clone()) {
                return Err(format!(
                    "world file {}: tenants[{i}]: account {} appears twice",
                    path.display(),
                    spec.account_id
                ));
            }
            specs.push(spec);
        }
        let loaded = ops::create_missing_tenants(store, clock, specs)
            .await
            .map_err(|e| format!("world file {}: nothing was created: {e}", path.display()))?;
        return Ok(Loaded::World(loaded));
    }
    let existing = ops::list_tenants(store).await.map_err(|e| e.to_string())?;
    if !existing.is_empty() {
        return Ok(Loaded::Existing(existing.len()));
    }
    if config.no_demo {
        return Ok(Loaded::Nothing);
    }
    match demo::load(store, clock).await {
        Ok(credentials) => Ok(Loaded::Demo(credentials)),
        // Another node on the same database started at the same moment and loaded it.
        Err(Error::Conflict(_)) => Ok(Loaded::Existing(ops::list_tenants(store).await.map_or(1, |t| t.len()))),
        Err(err) => Err(format!("demo world: {err}")),
    }
}

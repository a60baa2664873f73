//! The server's lifecycle: start-up (bind, open the store, load the world), the banner,
//! serving in the background, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::banner;
use super::router::{panic_routes, router};
use super::world::load_world;
use crate::config::ServeConfig;
use crate::domain::{Clock, Error, ids};
use crate::limits::RateLimiter;
use crate::retention;
use crate::state::AppState;
use crate::store::Store;

/// A running server (for `serve` and for tests).
pub struct Server {
    pub addr: SocketAddr,
    pub admin_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    pruner: retention::Pruner,
    journal: Arc<crate::harness::requests::RequestJournal>,
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
            faults: Arc::new(crate::harness::faults::FaultBook::for_store(&store)),
            journal: Arc::new(crate::harness::requests::RequestJournal::start(store.clone(), config.journal_size)),
            admin_token_hash: Arc::new(store.secrets().hash(&admin_token)),
            store,
            clock,
        };
        if !config.quiet {
            banner::print(addr, &admin_token, config.admin_token.is_none(), &loaded);
        }
        let pruner = retention::Pruner::start(state.store.clone(), clock, policy);
        let journal = state.journal.clone();
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = if config.panic_routes { panic_routes().merge(router(state)) } else { router(state) };
        let task = tokio::spawn(crate::http::serve(listener, app, config.connections.clone(), signal));
        Ok(Server { addr, admin_token, shutdown: Some(shutdown), task, pruner, journal })
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
        self.journal.flush().await;
    }
}

/// `userplane serve`: runs until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("USERPLANE_LOG").unwrap_or_else(|_| "userplane=info".into());
    // The PostgreSQL client crates log every statement's parameters (secret hashes among
    // them) at debug: they are never logged, whatever USERPLANE_LOG says. A filter of
    // its own, so that no directive (`tokio_postgres::query=trace`) can outrank it.
    let no_database_client = tracing_subscriber::filter::filter_fn(|meta| !is_database_client(meta.target()));
    // Colours only for a person at a terminal, and never when NO_COLOR is set.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let subscriber =
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).finish();
    let _ = subscriber.with(no_database_client).try_init();
    let server = Server::start(&config).await?;
    tracing::info!(addr = %server.addr, "userplane is serving");
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

/// Log targets of the PostgreSQL client crates (`tokio_postgres`, `postgres`,
/// `postgres_protocol`, ...), which log query parameters.
fn is_database_client(target: &str) -> bool {
    target.starts_with("tokio_postgres") || target.starts_with("postgres")
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

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
    /// The SQLite file this server owns while it runs (see `store::claim`).
    _claim: Option<std::fs::File>,
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
        let claim = crate::store::claim(&config.database_url).map_err(|e| format!("database: {e}"))?;
        let store = Store::open(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
        let clock = Clock;
        let admin_token = config.admin_token.clone().unwrap_or_else(|| ids::new_secret("upa_"));
        let loaded = load_world(&store, &clock, config).await?;
        let state = AppState {
            limits: Arc::new(RateLimiter::for_store(&store)),
            auth_throttle: Arc::new(crate::throttle::AuthThrottle::new(config.auth_throttle_limits())),
            faults: Arc::new(crate::harness::faults::FaultBook),
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
        let dialects = crate::api::providers::edge();
        let task = tokio::spawn(crate::http::serve(listener, app, dialects, config.connections.clone(), signal));
        Ok(Server { addr, admin_token, shutdown: Some(shutdown), task, pruner, journal, _claim: claim })
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
        // The claim on the file ends with `self`.
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

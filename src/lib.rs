//! userplane implements the user-access admin APIs of SaaS providers (today a slice of
//! the Zoom Users API v2 and of Cloudflare API v4 Access) with real state, real
//! credentials and the providers' own wire formats.
//!
//! Read the modules in this order:

/// The provider-neutral core: tenants, principals, sessions, devices, delegations,
/// credentials, audit; the operations every dialect calls, and the read cache of hot
/// lookups. Start here: no HTTP, no SQL.
pub mod domain;

/// Persistence: one store over SQLite (embedded) and PostgreSQL, one function per query.
pub mod store;

/// The test harness beside the core: fault rules, the request journal, snapshots and forks.
pub mod harness;

/// Failed-authentication throttling per address and credential name (bounded LRU).
pub mod throttle;

/// Rate limiting counters (the dialects decide windows, limits and wire).
pub mod limits;

/// What every handler shares (store, clock, limits): the one value the dialects receive.
pub mod state;

/// Prometheus metrics (`GET /metrics`) and their hooks.
pub mod metrics;

/// Server configuration (flags that also read the environment).
pub mod config;

/// The HTTP server layer under the router: connection limits and timeouts, request ids,
/// the panic catcher, and answers for requests hyper rejects, in the shape of the dialect
/// a path belongs to. It names no dialect: it is handed their list at start-up.
pub mod http;

/// The HTTP dialects over the core: Zoom, Cloudflare, and userplane's own control plane,
/// each declared by its folder and registered in `api/providers.rs`.
pub mod api;

/// Logging: the format (text or JSON lines), colours, and what is never logged.
pub mod logging;

/// Retention: expired tokens, old revocations and journal records pruned in the background.
pub mod retention;

/// The demo world loaded into an empty database, and its part of the banner.
pub mod demo;

/// The server around the dialects: router, start-up, world loading, banner, shutdown.
pub mod app;

/// Outbound clients for the providers and the offboard playbook (the server's first user).
pub mod client;

/// The command line: serve, migrate, offboard, reinstate; what `main.rs` calls.
pub mod cli;

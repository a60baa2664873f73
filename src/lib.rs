//! userplane implements the user-access admin APIs of SaaS providers (today a slice of
//! the Zoom Users API v2 and of Cloudflare API v4 Access) with real state, real
//! credentials and the providers' own wire formats.
//!
//! Read the modules in this order:

/// The HTTP dialects: Zoom, Cloudflare, and userplane's own control plane.
pub mod api;
/// AppState, the router, start-up and graceful shutdown.
pub mod app;
/// The command line: serve, migrate, offboard, reinstate.
pub mod cli;
/// Outbound clients for both providers and the offboard playbook.
pub mod client;
/// Server configuration (flags that also read the environment).
pub mod config;
/// The demo world and the start-up banner.
pub mod demo;
/// The provider-neutral core: tenants, principals, sessions, devices, delegations,
/// credentials, audit; and the operations every dialect calls.
pub mod domain;
/// The HTTP server layer under the router: connection limits and timeouts, request ids,
/// the panic catcher, and dialect-shaped answers for requests hyper rejects.
pub mod http;
/// Rate limiting counters (the dialects decide windows, limits and wire).
pub mod limits;
/// Logging: the format (text or JSON lines), colours, and what is never logged.
pub mod logging;
/// Prometheus metrics (`GET /metrics`) and their hooks.
pub mod metrics;
/// Retention: expired tokens, old revocations and journal records pruned in the background.
pub mod retention;
/// Persistence: one store over SQLite (embedded) and PostgreSQL, one function per query.
pub mod store;

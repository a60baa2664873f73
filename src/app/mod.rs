//! The server around the dialects: the router that puts them side by side, the
//! lifecycle (start-up, banner, graceful shutdown) and the world loaded at start.
//!
//! - [`router`]: every route of the server;
//! - [`server`]: `Server::start` / `stop` and `userplane serve`;
//! - [`world`]: the `--world` file or the demo world, loaded after the port is bound;
//! - [`banner`]: what start-up prints.

pub mod banner;
pub mod router;
pub mod server;
pub mod world;

pub use router::router;
pub use server::{Server, serve};
pub use world::Loaded;

//! The demo world loaded into an empty database ([`world`]), and its part of the start-up
//! banner ([`banner`]).

pub mod banner;
pub mod world;

pub use world::{CLOUDFLARE_ACCOUNT, CLOUDFLARE_ZONE, DemoCredentials, ZOOM_ACCOUNT, ZOOM_CLIENT_ID, load};

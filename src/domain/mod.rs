//! The provider-neutral core: tenants, principals (users), sessions, devices,
//! delegations (assistants), credentials and the audit journal.
//!
//! Nothing here knows about HTTP or SQL. Dialects (`crate::api::*`) translate their
//! wire formats into the operations in [`ops`], and map [`Error`] onto their own
//! status codes and bodies.

pub mod cache;
pub mod clock;
pub mod error;
pub mod ids;
pub mod model;
pub mod ops;
pub mod provider;
pub mod storage;
pub mod tenant;

pub use clock::{Clock, Timestamp};
pub use error::{Error, Result};
pub use model::*;
pub use storage::{PrincipalFilter, Setting, StatusScope, Storage, TokenInContext, Tx};

//! What start-up loads: the tenants of a `--world` file (all checked, then created in one
//! transaction), or the demo world into an empty database.

use crate::config::ServeConfig;
use crate::demo;
use crate::domain::{Clock, Error, ops};
use crate::store::Store;

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

pub(super) async fn load_world(store: &Store, clock: &Clock, config: &ServeConfig) -> Result<Loaded, String> {
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

//! Store (stub).
pub struct Store;
impl Store {
    pub async fn open(_url: &str) -> Result<Store, String> {
        Err("not yet".into())
    }
}

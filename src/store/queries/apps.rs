use super::super::{Conn, Row};
use super::Result;
use crate::domain::App;

fn app_from(row: &Row) -> App {
    App {
        tenant: row.text(0),
        id: row.text(1),
        name: row.text(2),
        domain: row.text(3),
        aud: row.text(4),
        kind: row.text(5),
        created_at: row.int(6),
    }
}

pub fn insert_app(c: &mut dyn Conn, app: &App) -> Result<()> {
    c.execute(
        "INSERT INTO apps (tenant, id, name, domain, aud, kind, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            app.tenant.as_str().into(),
            app.id.as_str().into(),
            app.name.as_str().into(),
            app.domain.as_str().into(),
            app.aud.as_str().into(),
            app.kind.as_str().into(),
            app.created_at.into(),
        ],
    )?;
    Ok(())
}

pub fn list_apps(c: &mut dyn Conn, tenant: &str) -> Result<Vec<App>> {
    let rows = c.query(
        "SELECT tenant, id, name, domain, aud, kind, created_at FROM apps WHERE tenant = $1 ORDER BY created_at, name",
        &[tenant.into()],
    )?;
    Ok(rows.iter().map(app_from).collect())
}

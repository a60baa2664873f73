//! What start-up prints: where the server listens, the admin token, and what was loaded.

use std::io::Write;
use std::net::SocketAddr;

use super::world::Loaded;

/// Prints where the server listens, the admin token and what start-up loaded.
/// Written with `writeln!` and errors ignored: a closed stdout must not take the server down.
pub fn print(addr: SocketAddr, admin_token: &str, generated: bool, loaded: &Loaded) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "userplane listening on http://{addr}");
    // The commands below connect; a wildcard address (0.0.0.0, ::) is reached on loopback.
    let mut connect = addr;
    if addr.ip().is_unspecified() {
        connect.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let base = format!("http://{connect}");
    if generated {
        let _ = writeln!(out, "admin token (generated; set USERPLANE_ADMIN_TOKEN to choose one): {admin_token}");
    }
    match loaded {
        Loaded::Demo(creds) => crate::demo::banner::write(&mut out, &base, creds),
        Loaded::World(tenants) => {
            for (account, created) in tenants {
                let _ = writeln!(
                    out,
                    "  tenant {account}: {}",
                    if *created { "created from the world file" } else { "kept (already present)" }
                );
            }
        }
        Loaded::Existing(n) => {
            let _ = writeln!(
                out,
                "{n} tenant(s) already in the database. Their secrets are kept only as hashes and cannot be shown again."
            );
            let _ = writeln!(out, "For working credentials, either:");
            let _ = writeln!(
                out,
                "  - reset a tenant with new secrets, shown once: curl -X POST {base}/_userplane/tenants/ACCOUNT/reset \\"
            );
            let _ = writeln!(
                out,
                "      -H \"Authorization: Bearer $ADMIN_TOKEN\" -d '{{\"rotate_secrets\": true}}'  (this clears its sessions); or"
            );
            let _ = writeln!(
                out,
                "  - restart with --world FILE whose tenants set their own secrets (client_secret, api_tokens' value),"
            );
            let _ = writeln!(out, "    on a new database: those secrets stay the same across restarts; or");
            let _ = writeln!(
                out,
                "  - stop the server, delete the database file (--database-url, default ./userplane.db and its -wal/-shm),"
            );
            let _ = writeln!(out, "    and start again: a new demo world with new secrets is printed.");
        }
        Loaded::Nothing => {}
    }
}

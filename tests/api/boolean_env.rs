//! Boolean environment variables take the usual spellings, and refuse the rest.

use std::process::Stdio;

use serde_json::Value;

use crate::metrics::{ADMIN, Process, serve_command};

/// `USERPLANE_NO_DEMO`: 1/true/yes/on skip the demo world, 0/false/no/off load it.
#[tokio::test]
async fn no_demo_takes_one_zero_yes_no_on_off_true_false() {
    for (value, demo_tenants) in
        [("1", 0), ("true", 0), ("yes", 0), ("on", 0), ("0", 2), ("false", 2), ("no", 2), ("off", 2)]
    {
        let server = Process::start_in(tempfile::tempdir().unwrap(), &[], &[("USERPLANE_NO_DEMO", value)]).await;
        let response = reqwest::Client::new().get(server.url("/_userplane/tenants")).bearer_auth(ADMIN).send().await;
        let tenants: Value = response.unwrap().json().await.unwrap();
        assert_eq!(tenants["tenants"].as_array().unwrap().len(), demo_tenants, "USERPLANE_NO_DEMO={value}");
        server.stop().await;
    }
}

/// Any other value is a usage error: exit code 2, naming the variable, nothing created.
#[tokio::test]
async fn a_boolean_that_is_not_one_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("userplane.db").display());
    let output =
        serve_command(&database, &[], &[("USERPLANE_NO_DEMO", "maybe")]).stdout(Stdio::piped()).output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("maybe") && stderr.contains("no-demo"), "{stderr}");
    assert!(!dir.path().join("userplane.db").exists(), "a database was created");
}

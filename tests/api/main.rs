//! The integration suite: the real server on 127.0.0.1 with a random port, real HTTP
//! clients, a fresh tenant per test.
//!
//! The backend comes from `USERPLANE_TEST_DATABASE_URL` (a PostgreSQL URL runs the
//! whole suite on PostgreSQL); by default each test gets its own SQLite file.

mod auth_throttle;
mod boolean_env;
mod clock;
mod cloudflare;
mod cloudflare_auth;
mod cloudflare_devices;
mod cloudflare_users;
mod console;
mod control;
mod demo;
mod durability;
mod faults;
mod helpers;
mod honest_errors;
mod http_layer;
mod logs;
mod malformed;
mod metrics;
mod multinode;
mod offboard;
mod offboard_fakes;
mod offboard_harness;
mod offboard_userplane;
mod openapi;
mod pagination;
mod read_cache;
mod requests;
mod retention;
mod secrets;
mod snapshots;
mod wire;
mod world;
mod zoom;

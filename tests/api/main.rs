//! The integration-test binary: one module per area.

mod offboard;
mod offboard_fakes;
mod offboard_harness;

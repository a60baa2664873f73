//! userplane implements the user-access admin APIs of SaaS providers with real state.

pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod store;

//! The test harness beside the core: fault rules that make a tenant misbehave, the
//! request journal of what each tenant was asked, and snapshots and forks of a tenant's
//! state. Each is written against the store directly (it is about rows and requests,
//! not about the domain's rules), so the domain stays free of storage.

pub mod faults;
pub mod requests;
pub mod snapshots;

//! Access control around the one decision in `authz`: the operation table, the bucket context, ACLs, the
//! request context (condition keys) and the audit trail.

pub mod acl;
pub mod audit;
pub mod bucket;
pub mod caller;
pub mod context;
pub mod hooks;
pub mod operations;
pub mod parsed;

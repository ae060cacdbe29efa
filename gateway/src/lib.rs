//! The Gatehouse gateway: HTTP(S) server, routing, authentication, the one authorisation call, S3 handlers,
//! and the `gatehouse` binary's commands (DESIGN §2).

pub mod access;
pub mod admin;
pub mod auth;
pub mod authorization;
pub mod authz;
pub mod cli;
pub mod config;
pub mod errors;
pub mod front;
pub mod identity;
pub mod kms_admin;
pub mod oidc;
pub mod post_form;
pub mod query;
pub mod s3;
pub mod server;
pub mod server_key;
pub mod session;
pub mod sigv2;
pub mod state;
pub mod sts;
pub mod web_identity;

pub use config::Config;
pub use state::AppState;

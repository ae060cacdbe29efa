//! gatehouse-bench: an S3 load generator (SigV4, keep-alive pool, TCP_NODELAY, random unique bodies).

pub mod cli;
pub mod client;
pub mod payload;
pub mod runner;
pub mod sign;
pub mod stats;

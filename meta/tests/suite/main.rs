//! Behaviour tests of `gatehouse-meta`, each run against SQLite (a temp file) and, when
//! `GATEHOUSE_TEST_PG_URL` is set, against Postgres in a fresh schema (see `common`).
#![allow(clippy::unwrap_used)]

mod common;

mod accounts;
mod buckets;
mod classes;
mod group;
mod inline;
mod listing;
mod lock;
mod multipart;
mod objects;
mod versions;

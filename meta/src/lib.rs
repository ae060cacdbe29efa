//! gatehouse-meta

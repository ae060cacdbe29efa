//! gatehouse-bench

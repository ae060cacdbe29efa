//! gatehouse-tests

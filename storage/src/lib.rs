//! gatehouse-storage

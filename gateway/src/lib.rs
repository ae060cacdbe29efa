//! gatehouse-gateway

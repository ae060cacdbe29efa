//! gatehouse-sts

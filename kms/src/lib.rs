//! gatehouse-kms

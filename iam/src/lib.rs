//! gatehouse-iam

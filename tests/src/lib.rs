//! Black-box test suites for Gatehouse (see `tests/`). The library itself is empty.

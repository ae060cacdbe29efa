#!/usr/bin/env bash
# The whole test suite, on a clean machine: starts a real Postgres (scripts/pg.sh) and OpenBao
# (scripts/openbao.sh), runs every Rust test
# (unit, integration against SQLite and Postgres, io_uring and std), then the Python client tests (boto3 and
# the aws CLI from a project venv) against the real binary. Prints one closing summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOG_DIR=$(mktemp -d /tmp/gatehouse-test.XXXXXX)

# 1. Postgres (installed from Debian if missing), stopped on exit.
eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop >/dev/null 2>&1 || true; rm -rf "$LOG_DIR"' EXIT
export GATEHOUSE_REQUIRE_PG=1

# 1b. OpenBao (dev mode over HTTPS, transit mounted) for the KMS tests, stopped on exit.
eval "$(scripts/openbao.sh start)"
trap 'scripts/openbao.sh stop >/dev/null 2>&1 || true; scripts/pg.sh stop >/dev/null 2>&1 || true; rm -rf "$LOG_DIR"' EXIT
export GATEHOUSE_REQUIRE_VAULT=1

# 2. Rust: every crate's unit tests and the black-box suites.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$LOG_DIR/cargo.log"
cargo_rc=${PIPESTATUS[0]}
set -e

# 3. Python clients in a venv (re-installed only when the requirements change).
VENV="$ROOT/.venv"
REQ=tests/python/requirements.txt
stamp=$(sha256sum "$REQ" | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ"
    echo "$stamp" >"$VENV/.stamp"
fi
export GATEHOUSE_BIN="$ROOT/target/debug/gatehouse-under-test"
set +e
PATH="$VENV/bin:$PATH" "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$LOG_DIR/pytest.log"
py_rc=${PIPESTATUS[0]}
set -e

# 4. One closing line over both runners.
passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' "$LOG_DIR/cargo.log")
failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' "$LOG_DIR/cargo.log")
py_passed=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^passed/) n = $(i-1) } END { print n + 0 }' "$LOG_DIR/pytest.log")
py_failed=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^failed/) n = $(i-1) } END { print n + 0 }' "$LOG_DIR/pytest.log")
total_passed=$(( ${passed:-0} + ${py_passed:-0} ))
total_failed=$(( ${failed:-0} + ${py_failed:-0} ))
[ "$cargo_rc" -eq 0 ] || [ "$total_failed" -gt 0 ] || total_failed=1
[ "$py_rc" -eq 0 ] || [ "$total_failed" -gt 0 ] || total_failed=1
echo "gatehouse: ${total_passed} passed, ${total_failed} failed"
[ "$cargo_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]

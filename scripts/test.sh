#!/usr/bin/env bash
# The whole test suite, as CI runs it: quality gates, the client-only build (no unixODBC), and
# every test against real drivers (SQLite via sqliteodbc, PostgreSQL 15 via psqlodbc on a
# throwaway cluster the tests create). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== client-only build: no odbc-sys, no actix"
tree=$(cargo tree -p odbcd --no-default-features -e normal,build)
if grep -Eq "odbc-sys|odbc-api|actix" <<<"$tree"; then
    echo "the client-only build depends on the server's crates:" >&2
    grep -E "odbc-sys|odbc-api|actix" <<<"$tree" >&2
    exit 1
fi
# Its own target dir, so the full build's artifacts are not rebuilt back and forth.
cargo build -p odbcd --no-default-features --lib --bin odbcsh --target-dir target/client-only
if ldd target/client-only/debug/odbcsh | grep -q libodbc; then
    echo "the client-only odbcsh links libodbc" >&2
    exit 1
fi
target/client-only/debug/odbcsh --version

echo "== fuzz targets (cargo-fuzz layout; built and smoke-run on stable)"
(cd fuzz && cargo build --target-dir ../target/fuzz)
for t in decode_frame parse_ini parse_connstr; do
    target/fuzz/debug/$t -runs=20000 2>&1 | tail -1
done

echo "== tests"
cargo test --workspace

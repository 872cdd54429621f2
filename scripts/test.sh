#!/usr/bin/env bash
# The whole test suite, as CI runs it: quality gates, the client-only build (no unixODBC), and
# every test against real drivers (SQLite via sqliteodbc, PostgreSQL 15 via psqlodbc on a
# throwaway cluster the tests create). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# A clean checkout gains nothing from incremental compilation, and its files are the largest part of
# target/ (a CI run once ran out of disk in its last step).
if [ -n "${CI:-}" ]; then
    export CARGO_INCREMENTAL=0
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (the lock file as committed: --locked everywhere below)"
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
echo "== cargo doc: every intra-doc link resolves"
RUSTDOCFLAGS="-D warnings -A rustdoc::private-intra-doc-links" cargo doc --locked --workspace --no-deps --document-private-items --all-features

echo "== client-only build: no odbc-sys, no actix; the library alone without the shells' crates"
tree=$(cargo tree -p odbcd --no-default-features --features cli -e normal,build)
if grep -Eq "odbc-sys|odbc-api|actix" <<<"$tree"; then
    echo "the client-only build depends on the server's crates:" >&2
    grep -E "odbc-sys|odbc-api|actix" <<<"$tree" >&2
    exit 1
fi
lib_tree=$(cargo tree -p odbcd --no-default-features -e normal,build)
if grep -Eq "clap|rustyline|tracing-subscriber|serde_json" <<<"$lib_tree"; then
    echo "the client library alone depends on the shells' crates:" >&2
    exit 1
fi
echo "the client library alone: $(cargo tree -p odbcd --no-default-features -e normal --prefix none | sed 's/ (\*)//' | sort -u | grep -vc '^odbcd ') crates"
# Its own target dir, so the full build's artifacts are not rebuilt back and forth.
cargo build --locked -p odbcd --no-default-features --lib --target-dir target/client-only
cargo build --locked -p odbcd --no-default-features --features cli --lib --bin odbcsh --target-dir target/client-only
if ldd target/client-only/debug/odbcsh | grep -q libodbc; then
    echo "the client-only odbcsh links libodbc" >&2
    exit 1
fi
target/client-only/debug/odbcsh --version

echo "== fuzz targets: libFuzzer with coverage feedback on stable (the flags cargo-fuzz passes,"
echo "   with --target so build scripts are left alone), each from the seeds in fuzz/corpus"
host=$(rustc -vV | sed -n 's/^host: //p')
fuzz_flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
fuzz_flags+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
fuzz_flags+=" -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
fuzz_targets=(decode_frame decode_budgeted parse_ini parse_connstr)
(cd fuzz && RUSTFLAGS="$fuzz_flags" cargo build --release --target "$host" \
    --target-dir ../target/fuzz-cov "${fuzz_targets[@]/#/--bin=}")
fuzz_seconds=${FUZZ_SECONDS:-15}
for t in "${fuzz_targets[@]}"; do
    seeds=fuzz/corpus/$t
    [ -d "$seeds" ] || seeds=fuzz/corpus/decode_frame
    work=$(mktemp -d)
    cp -r "$seeds"/. "$work"/
    before=$(find "$work" -type f | wc -l)
    if ! "target/fuzz-cov/$host/release/$t" "$work" -max_total_time="$fuzz_seconds" \
        -rss_limit_mb=2048 -artifact_prefix="$work/" >"$work.log" 2>&1; then
        tail -40 "$work.log" >&2
        echo "fuzz target $t failed; the input is in $work" >&2
        exit 1
    fi
    echo "$t: corpus $before -> $(find "$work" -type f | wc -l) inputs in ${fuzz_seconds}s; $(grep -m1 -o 'DONE.*' "$work.log" || tail -1 "$work.log")"
    rm -rf "$work" "$work.log"
done

echo "== tests"
cargo test --locked --workspace --all-features

echo "== Debian package: built, inspected, installed with dpkg -i, served, queried, purged"
scripts/test-deb.sh

echo "== Python client: the wheel built in a virtualenv, then pytest against the server cargo built"
scripts/python-tests.sh

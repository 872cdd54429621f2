#!/usr/bin/env bash
# The Python client's tests (python/tests): builds the wheel with maturin in a virtualenv
# (target/py-venv), installs it, and runs pytest against real odbcd servers (the binary of
# `cargo build --bin odbcd`), SQLite and a throwaway PostgreSQL cluster. Part of scripts/test.sh;
# run alone after `scripts/setup.sh`. PYTEST_ARGS adds pytest options (e.g. "-k dbapi20").
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-test.txt
cargo build --locked --bin odbcd
rm -rf target/wheels
# A development build: the tests check behaviour, not speed (benchmarks use --release).
"$venv/bin/maturin" build --locked --manifest-path python/Cargo.toml --profile dev --out target/wheels
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/odbcd-*.whl
cd python/tests
# The package is imported from the installed wheel, never from the source tree.
ODBCD_BIN="$PWD/../../target/debug/odbcd" "../../$venv/bin/python" -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} .

#!/usr/bin/env bash
# Installs what odbcd needs on Debian 12: unixODBC, the SQLite and PostgreSQL ODBC drivers,
# PostgreSQL (for the tests), and checks for a Rust toolchain. Uses sudo only when not root.
set -euo pipefail

packages=(python3 python3-venv systemd unixodbc unixodbc-dev odbc-postgresql libsqliteodbc sqlite3 postgresql postgresql-client haproxy prometheus dpkg-dev libsqlite3-dev openssl gcc g++ pkg-config util-linux)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi
if ! command -v cargo >/dev/null; then
    echo "setup: Rust is required (cargo not found); install it with rustup: https://rustup.rs" >&2
    exit 1
fi

#!/usr/bin/env bash
# The main job on a fresh Debian machine: install what is needed, build, start odbcd on its
# built-in defaults (127.0.0.1:6632, plain, no auth) with the demo SQLite data source from
# config/, and run queries through the client shell. Stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --bins

export ODBCSYSINI="$PWD/config" ODBCINI="$PWD/config/odbc.ini"
rm -f /tmp/odbcd-demo.db
target/release/odbcd run &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/6632) 2>/dev/null; then break; fi
    sleep 0.1
done

sh="target/release/odbcsh --connect DSN=demo"
$sh -e "CREATE TABLE fruit (id INTEGER PRIMARY KEY, name VARCHAR(40), price NUMERIC(10,2), picked DATE)" \
    -e "INSERT INTO fruit VALUES (1, 'apple', 0.50, '2026-09-01'), (2, 'pear', 0.75, '2026-09-15'), (3, 'quince', NULL, NULL)"
echo "--- odbcsh --connect DSN=demo -e 'SELECT * FROM fruit ORDER BY id'"
$sh -e "SELECT * FROM fruit ORDER BY id"
echo "--- the same as CSV"
$sh --format csv -e "SELECT * FROM fruit ORDER BY id"
echo "--- data sources on the server"
echo '\dsn' | $sh

#!/usr/bin/env bash
# The benchmark set of BENCHMARKS.md, runnable by anyone on Debian 12: starts a throwaway
# PostgreSQL cluster, pgbouncer and odbcd on loopback, runs each measurement REPEAT times
# (default 3; the report takes medians), writes JSON reports and plots to bench-results/, and
# stops everything. Usage: scripts/bench.sh [REPEAT]; ONLY=bulk,select1,lookup,scale,connect
# runs a subset (python: the Python client against pyodbc; isolation: driver_isolation = process
# against thread, side by side; network: bulk, select1 and lookup through the link emulator,
# against psql over the same links; busypoll: a server with [Session] busy_poll = 200 against
# one without, with each server's CPU); STATEMENT_CACHE_SIZE=N sets odbcd's statement cache (default 32, 0 = off).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${1:-3}
ONLY=${ONLY:-all}
want() { [ "$ONLY" = all ] || [[ ",$ONLY," == *",$1,"* ]]; }
scripts/setup.sh
if ! command -v pgbouncer >/dev/null; then
    sudo=""; [ "$(id -u)" != 0 ] && sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q pgbouncer </dev/null
fi
cargo build --release --bins -p odbcd -p odbcd-loadtest

OUT=$PWD/bench-results
rm -rf "$OUT"; mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/odbcd-bench.XXXXXX)
chmod 755 "$WORK"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
AS_PG=""; [ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --"
PGPORT=55432; BOUNCER=56432; ODBCD=56632

ulimit -n 20000 2>/dev/null || true
cleanup() {
    [ -n "${ODBCD_PID:-}" ] && kill "$ODBCD_PID" 2>/dev/null || true
    [ -n "${ODBCD_PLAIN_PID:-}" ] && kill "$ODBCD_PLAIN_PID" 2>/dev/null || true
    [ -n "${ODBCD_PROC_PID:-}" ] && kill "$ODBCD_PROC_PID" 2>/dev/null || true
    [ -n "${ODBCD_POLL_PID:-}" ] && kill "$ODBCD_POLL_PID" 2>/dev/null || true
    [ -n "${BOUNCER_PID:-}" ] && kill "$BOUNCER_PID" 2>/dev/null || true
    [ -n "${LINK_PIDS:-}" ] && kill $LINK_PIDS 2>/dev/null || true
    $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# PostgreSQL, owned by postgres when we are root.
mkdir -p "$WORK/pg"; [ -n "$AS_PG" ] && chown postgres "$WORK" "$WORK/pg"
$AS_PG "$PGBIN/initdb" -A trust -U postgres -E UTF8 --locale=C.UTF-8 -D "$WORK/pg" >/dev/null
$AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -o "-p $PGPORT -k $WORK -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
psql() { command psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres "$@"; }
psql -c "CREATE DATABASE bench" >/dev/null

# pgbouncer in transaction pooling.
cat > "$WORK/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PGPORT dbname=bench user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = transaction
max_client_conn = 500
default_pool_size = 64
unix_socket_dir =
EOF
echo '"postgres" ""' > "$WORK/userlist.txt"
[ -n "$AS_PG" ] && chown postgres "$WORK/pgbouncer.ini" "$WORK/userlist.txt"
$AS_PG pgbouncer "$WORK/pgbouncer.ini" >"$WORK/pgbouncer.log" 2>&1 &
BOUNCER_PID=$!

# odbcd with the drivers and a SQLite file.
cat > "$WORK/odbcinst.ini" <<EOF
[SQLite3]
Driver=/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so
[PostgreSQL Unicode]
Driver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so
EOF
: > "$WORK/odbc.ini"
export ODBCSYSINI=$WORK ODBCINI=$WORK/odbc.ini LC_ALL=C.UTF-8
cat > "$WORK/server.ini" <<EOF
[Connection]
interface = 127.0.0.1
port = $ODBCD
[Session]
max_sessions = 20000
max_handshakes = 1000
# STATEMENT_CACHE_SIZE=0 turns the statement cache off (the A/B of BENCHMARKS.md).
statement_cache_size = ${STATEMENT_CACHE_SIZE:-32}
[Access]
allowed_drivers = SQLite3, PostgreSQL Unicode
allowed_unsafe_keys = Database
[Pool]
max_idle_connections = 64
[Logging]
log_level = mx.Log.SYSTEM_ERROR
log_file = $WORK/odbcd.log
EOF
target/release/odbcd run --config "$WORK/server.ini" 2>/dev/null &
ODBCD_PID=$!
# A second server that does not compress its answers, for the compression comparison.
ODBCD_PLAIN=56633
# It has no [Pool] either, for the connect comparison.
sed -e "s/^port = $ODBCD/port = $ODBCD_PLAIN/" -e "s/^\[Session\]/[Session]\nenable_compression = 0/" \
    -e "s#odbcd.log#odbcd-plain.log#" -e "/^\[Pool\]/,+1d" "$WORK/server.ini" > "$WORK/server-plain.ini"
target/release/odbcd run --config "$WORK/server-plain.ini" 2>/dev/null &
ODBCD_PLAIN_PID=$!
# A third one with every database connection in a worker process, for the isolation cost.
ODBCD_PROC=56634
sed -e "s/^port = $ODBCD/port = $ODBCD_PROC/" -e "s/^\[Session\]/[Session]\ndriver_isolation = process/" \
    -e "s#odbcd.log#odbcd-process.log#" "$WORK/server.ini" > "$WORK/server-process.ini"
target/release/odbcd run --config "$WORK/server-process.ini" 2>/dev/null &
ODBCD_PROC_PID=$!
# A fourth one whose database threads busy-poll for 200 µs after each answer.
ODBCD_POLL=56635
sed -e "s/^port = $ODBCD/port = $ODBCD_POLL/" -e "s/^\[Session\]/[Session]\nbusy_poll = 200/" \
    -e "s#odbcd.log#odbcd-poll.log#" "$WORK/server.ini" > "$WORK/server-poll.ini"
target/release/odbcd run --config "$WORK/server-poll.ini" 2>/dev/null &
ODBCD_POLL_PID=$!
sleep 1

SQLITE="Driver=SQLite3;Database=$WORK/bench.db;StepAPI=1"
# Bulk reads use psqlodbc's declare/fetch mode (bounded memory for a million rows); the short
# statements do not, since it wraps every query in DECLARE/FETCH/CLOSE, as an application
# running short queries would configure it.
PG="Driver={PostgreSQL Unicode};Servername=127.0.0.1;Port=$PGPORT;Database=bench;Username=postgres;UseDeclareFetch=1;Fetch=10000;BoolsAsChar=0"
PG_OLTP="Driver={PostgreSQL Unicode};Servername=127.0.0.1;Port=$PGPORT;Database=bench;Username=postgres;BoolsAsChar=0"
LT="target/release/odbcd-loadtest --port $ODBCD"
LT_PLAIN="target/release/odbcd-loadtest --port $ODBCD_PLAIN"

run() { # name, args...
    local name=$1; shift
    for i in $(seq "$REPEAT"); do
        $LT "$@" --json "$OUT/$name.$i.json" --plot "$OUT/$name.$i.svg" >/dev/null
    done
    echo "$name done"
}

# 1. Bulk fetch, 1M rows x 4 columns, remote and direct, both databases; compression on/off.
want bulk && for db in SQLITE PG; do
    cs=${!db}
    $LT --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 1 >/dev/null
    run "bulk-$db-remote" --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 3
    for i in $(seq "$REPEAT"); do
        $LT_PLAIN --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 3 --no-compression \
            --json "$OUT/bulk-$db-remote-nocompress.$i.json" >/dev/null
    done
    run "bulk-$db-direct" --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 3 --direct
done
# 2. Round trip: select1, one session.
want select1 && for db in SQLITE PG_OLTP; do
    cs=${!db}
    run "select1-$db-remote" --connect "$cs" --workload select1 --duration 5 --warmup 1
    run "select1-$db-direct" --connect "$cs" --workload select1 --duration 5 --warmup 1 --direct
done
# ... and the server's own round trip, without the database (what select1 adds is the database hop).
want select1 && run "ping-remote" --connect "$SQLITE" --workload ping --duration 5 --warmup 1
# ... and this machine's floor: two processes exchanging a select1's frames over loopback TCP.
want select1 && run "pingpong" --connect none --workload pingpong --duration 5 --warmup 1
# 3. Many sessions: lookup on PostgreSQL, 64 sessions, against pgbouncer + pgbench -S -c 64.
if want lookup; then
$LT --connect "$PG" --workload lookup --prepare-rows 100000 --requests 1 >/dev/null
run "lookup64-PG-remote" --connect "$PG_OLTP" --workload lookup --prepare-rows 100000 --sessions 64 --duration 10 --warmup 2
run "lookup64-PG-direct" --connect "$PG_OLTP" --workload lookup --prepare-rows 100000 --sessions 64 --duration 10 --warmup 2 --direct
# ... and one session alone (its latency against in-process ODBC's).
run "lookup1-PG-remote" --connect "$PG_OLTP" --workload lookup --prepare-rows 100000 --duration 5 --warmup 1
run "lookup1-PG-direct" --connect "$PG_OLTP" --workload lookup --prepare-rows 100000 --duration 5 --warmup 1 --direct
"$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -i -s 1 -q bench >/dev/null 2>&1
for i in $(seq "$REPEAT"); do
    "$PGBIN/pgbench" -h 127.0.0.1 -p "$BOUNCER" -U postgres -S -c 64 -j 2 -T 10 -n bench 2>/dev/null \
        | grep -E "^tps" > "$OUT/pgbouncer-pgbench.$i.txt"
done
echo "pgbouncer done"
fi
# 4. Scale: idle sessions held open (one file descriptor per session on each side) while 100
#    sessions run select1; the report's "idle" part has the open rate and server KiB per session
#    (meaningful in the first run: later runs start from a server that already held sessions).
if want scale; then
IDLE=$(( $(ulimit -n) - 1000 )); [ "$IDLE" -gt 10000 ] && IDLE=10000
run "scale-SQLITE" --connect "$SQLITE" --idle-sessions "$IDLE" --sessions 100 --workload select1 --duration 5 --no-compression
# The same 100 sessions at an offered 2,000 requests/s (open loop): closed-loop latency is
# sessions / throughput (Little's law), so a p99 under 1 ms needs a rate, not 100 busy loops.
run "scale-SQLITE-rate2000" --connect "$SQLITE" --idle-sessions "$IDLE" --sessions 100 --workload select1 --duration 5 --rate 2000 --no-compression
ps -o rss= -p "$ODBCD_PID" > "$OUT/odbcd-rss-kib.txt"
fi
# 6. Connection reuse: connect + SELECT 1 + close on PostgreSQL, one session: pooled server
#    ([Pool]), the server without a pool, and a fresh in-process ODBC connect.
if want connect; then
run "connect-PG-pooled" --connect "$PG_OLTP" --workload connect --duration 5 --warmup 1
for i in $(seq "$REPEAT"); do
    $LT_PLAIN --connect "$PG_OLTP" --workload connect --duration 5 --warmup 1 --no-compression \
        --json "$OUT/connect-PG-unpooled.$i.json" >/dev/null
done
run "connect-PG-direct" --connect "$PG_OLTP" --workload connect --duration 5 --warmup 1 --direct
fi
# 7. The Python client against pyodbc in-process on the same connection string: the bulk table
#    (1M rows x 4 columns) into Python tuples, and SELECT 1 round trips (python/bench/bench.py).
if want python; then
venv=target/py-bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-test.txt
"$venv/bin/maturin" build --locked --release --manifest-path python/Cargo.toml --out target/wheels-release >/dev/null
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels-release/odbcd-*.whl
for db in SQLITE PG; do
    cs=${!db}
    oltp=$cs; [ "$db" = PG ] && oltp=$PG_OLTP
    $LT --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 1 >/dev/null
    for i in $(seq "$REPEAT"); do
        "$venv/bin/python" python/bench/bench.py --port "$ODBCD" --connect "$cs" --oltp-connect "$oltp" \
            --json "$OUT/python-$db.$i.json" >/dev/null
        # The same against the server with busy_poll = 200.
        "$venv/bin/python" python/bench/bench.py --port "$ODBCD_POLL" --connect "$cs" --oltp-connect "$oltp" \
            --json "$OUT/python-poll-$db.$i.json" >/dev/null
    done
    echo "python-$db done"
done
fi
# 8. Crash isolation: the same workloads with every connection in a worker process
#    (driver_isolation = process) and on a thread (the default), interleaved run by run.
if want isolation; then
LT_PROC="target/release/odbcd-loadtest --port $ODBCD_PROC"
for db in SQLITE PG; do
    cs=${!db}
    $LT --connect "$cs" --workload bulk --prepare-rows 1000000 --requests 1 >/dev/null
done
for i in $(seq "$REPEAT"); do
    for mode in thread process; do
        lt=$LT; [ "$mode" = process ] && lt=$LT_PROC
        $lt --connect "$SQLITE" --workload select1 --duration 5 --warmup 1 --json "$OUT/isolation-select1-SQLITE-$mode.$i.json" >/dev/null
        $lt --connect "$PG_OLTP" --workload select1 --duration 5 --warmup 1 --json "$OUT/isolation-select1-PG-$mode.$i.json" >/dev/null
        for db in SQLITE PG; do
            $lt --connect "${!db}" --workload bulk --prepare-rows 1000000 --requests 3 --json "$OUT/isolation-bulk-$db-$mode.$i.json" >/dev/null
        done
        $lt --connect "$PG_OLTP" --workload connect --duration 5 --warmup 1 --json "$OUT/isolation-connect-PG-$mode.$i.json" >/dev/null
    done
done
echo "isolation done"
fi
# 10. Busy polling (busy_poll = 200 µs) against none, interleaved run by run: select1 on both
#     databases and the 64-session lookup, with each server's CPU seconds over each run
#     (utime + stime from /proc, in 1/100 s) for the CPU cost per request.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
if want busypoll; then
$LT --connect "$PG" --workload lookup --prepare-rows 100000 --requests 1 >/dev/null
for i in $(seq "$REPEAT"); do
    for mode in off on; do
        port=$ODBCD; pid=$ODBCD_PID
        [ "$mode" = on ] && port=$ODBCD_POLL && pid=$ODBCD_POLL_PID
        for w in "select1-SQLITE:$SQLITE:select1:1" "select1-PG:$PG_OLTP:select1:1" "lookup64-PG:$PG_OLTP:lookup:64"; do
            name=${w%%:*}; rest=${w#*:}; sessions=${rest##*:}; rest=${rest%:*}; workload=${rest##*:}; cs=${rest%:*}
            before=$(cpu "$pid"); start=$(date +%s.%N)
            target/release/odbcd-loadtest --port "$port" --connect "$cs" --workload "$workload" --prepare-rows 100000 \
                --sessions "$sessions" --duration 5 --warmup 1 --json "$OUT/poll-$name-$mode.$i.json" >/dev/null
            echo "$(( $(cpu "$pid") - before )) $start $(date +%s.%N)" > "$OUT/poll-$name-$mode.$i.cpu"
        done
    done
done
echo "busypoll done"
fi
# 9. The network case: the same bulk fetch of the 1M-row PostgreSQL table over an emulated
#    link (odbcd-loadtest link: a delay each way and a bandwidth limit), through odbcd with and
#    without compression, and with psql over the same link to PostgreSQL itself; select1 and
#    lookup latency over the 1 Gbit/s one. Each link's traffic is logged per connection.
if want network; then
$LT --connect "$PG" --workload bulk --prepare-rows 1000000 --requests 1 >/dev/null
link() { # mbit, rtt-ms, listen-port, target-port, log
    target/release/odbcd-loadtest link --listen "127.0.0.1:$3" --to "127.0.0.1:$4" \
        --mbit "$1" --rtt-ms "$2" >/dev/null 2>>"$5" &
    LINK_PIDS="${LINK_PIDS:-} $!"
}
for spec in 100:10 1000:1; do
    mbit=${spec%:*}; rtt=${spec#*:}; name="${mbit}mbit-${rtt}ms"
    LINK_PIDS_BEFORE=${LINK_PIDS:-}
    link "$mbit" "$rtt" 56700 "$ODBCD" "$OUT/link-$name-odbcd.log"
    link "$mbit" "$rtt" 56701 "$ODBCD_PLAIN" "$OUT/link-$name-odbcd-plain.log"
    link "$mbit" "$rtt" 56702 "$PGPORT" "$OUT/link-$name-psql.log"
    sleep 0.5
    for i in $(seq "$REPEAT"); do
        target/release/odbcd-loadtest --port 56700 --connect "$PG" --workload bulk --prepare-rows 1000000 --requests 1 \
            --json "$OUT/net-$name-bulk-odbcd.$i.json" >/dev/null
        target/release/odbcd-loadtest --port 56701 --connect "$PG" --workload bulk --prepare-rows 1000000 --requests 1 \
            --no-compression --json "$OUT/net-$name-bulk-odbcd-plain.$i.json" >/dev/null
        # PostgreSQL's own protocol: psql fetching the same rows (all of them, then printed).
        : > "$OUT/link-$name-psql.log"
        start=$(date +%s.%N)
        rows=$(command psql -X -q -At -h 127.0.0.1 -p 56702 -U postgres -d bench \
            -c "SELECT id, name, amount, created FROM odbcd_loadtest" | wc -l)
        end=$(date +%s.%N)
        sleep 0.2
        python3 - "$start" "$end" "$rows" "$OUT/link-$name-psql.log" > "$OUT/net-$name-bulk-psql.$i.json" <<'PY'
import json, sys
start, end, rows, log = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
down = sum(json.loads(l)["down_bytes"] for l in open(log) if l.startswith("{"))
secs = end - start
print(json.dumps({"duration_s": secs, "rows": rows, "rows_per_s": rows / secs, "bytes_received": down}))
PY
    done
    if [ "$mbit" = 1000 ]; then
        # Latency over the link and on loopback, and ping (no database) both ways: what the
        # link adds beyond its RTT is the emulator's own cost (its threads' wake-ups).
        for i in $(seq "$REPEAT"); do
            for via in "$name:56700" "loopback:$ODBCD"; do
                where=${via%:*}; port=${via#*:}
                for w in select1 lookup ping; do
                    target/release/odbcd-loadtest --port "$port" --connect "$PG_OLTP" --workload "$w" --prepare-rows 1000000 \
                        --duration 5 --warmup 1 --json "$OUT/net-$where-$w-PG.$i.json" >/dev/null
                done
            done
        done
    fi
    kill ${LINK_PIDS#"$LINK_PIDS_BEFORE"} 2>/dev/null || true
    wait ${LINK_PIDS#"$LINK_PIDS_BEFORE"} 2>/dev/null || true
    echo "network $name done"
done
fi
echo "results in $OUT"
echo
scripts/bench-summary.py "$OUT"

"""The Python client against pyodbc in-process on the same data source, side by side in one run:
fetching the loadtest's bulk table (id, name, amount, created) into Python tuples, and the
SELECT 1 round trip. Run by `ONLY=python scripts/bench.sh` (which starts the servers and fills the
table); alone: python bench.py --port 6632 --connect "DSN=..." [--json FILE].

Both clients read whole result sets into lists of rows (fetchall); pyodbc's rows are its Row
objects, odbcd's tuples. Rates are medians of --repeat runs; latencies are percentiles over
--round-trips calls after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import pyodbc

import odbcd

TABLE = "odbcd_loadtest"


def fetch_rate(connection, repeat: int) -> tuple[float, int]:
    rates = []
    rows = 0
    for _ in range(repeat):
        cursor = connection.cursor()
        began = time.perf_counter()
        cursor.execute(f"SELECT id, name, amount, created FROM {TABLE}")
        rows = len(cursor.fetchall())
        rates.append(rows / (time.perf_counter() - began))
        cursor.close()
        connection.commit()
    return statistics.median(rates), rows


def round_trips(connection, n: int) -> dict:
    cursor = connection.cursor()
    for _ in range(200):
        cursor.execute("SELECT 1")
        cursor.fetchone()
    times = []
    for _ in range(n):
        began = time.perf_counter_ns()
        cursor.execute("SELECT 1")
        cursor.fetchone()
        times.append(time.perf_counter_ns() - began)
    times.sort()
    return {p: times[int(len(times) * q) - 1] / 1000 for p, q in (("p50_us", 0.5), ("p99_us", 0.99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6632)
    parser.add_argument("--connect", required=True, help="the ODBC connection string (same for both clients)")
    parser.add_argument("--oltp-connect", help="connection string for SELECT 1 (default: --connect)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--round-trips", type=int, default=5000)
    parser.add_argument("--json")
    args = parser.parse_args()
    oltp = args.oltp_connect or args.connect

    ours = odbcd.connect(args.connect, host=args.host, port=args.port)
    theirs = pyodbc.connect(args.connect)
    ours_rate, rows = fetch_rate(ours, args.repeat)
    theirs_rate, their_rows = fetch_rate(theirs, args.repeat)
    assert rows == their_rows, (rows, their_rows)
    ours.close()
    theirs.close()

    ours = odbcd.connect(oltp, host=args.host, port=args.port, clear_auto_commit=False)
    theirs = pyodbc.connect(oltp, autocommit=True)
    ours_rt = round_trips(ours, args.round_trips)
    theirs_rt = round_trips(theirs, args.round_trips)
    ours.close()
    theirs.close()

    report = {
        "rows": rows,
        "fetch_rows_per_s": {"odbcd": round(ours_rate), "pyodbc": round(theirs_rate), "ratio": round(ours_rate / theirs_rate, 3)},
        "select1": {"odbcd": ours_rt, "pyodbc": theirs_rt, "p50_difference_us": round(ours_rt["p50_us"] - theirs_rt["p50_us"], 1)},
    }
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()

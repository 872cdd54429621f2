#!/usr/bin/env python3
"""One screen of what scripts/bench.sh measured: each target of BENCHMARKS.md, the median of
the runs found in bench-results/ (NAME.N.json), the ratio or difference, and whether it is
reached. Figures whose runs are missing (a subset run with ONLY=...) are left out.

Usage: scripts/bench-summary.py [bench-results]
"""
import glob
import json
import os
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "bench-results"


def runs(name):
    found = []
    for path in sorted(glob.glob(os.path.join(OUT, f"{name}.*.json"))):
        with open(path) as f:
            found.append(json.load(f))
    return found


def median(name, pick):
    values = [pick(r) for r in runs(name)]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def rows_per_s(name):
    return median(name, lambda r: r.get("rows_per_s"))


def rps(name):
    return median(name, lambda r: r.get("throughput_rps"))


def p50(name):
    return median(name, lambda r: r["latency_us"]["p50"])


def p99(name):
    return median(name, lambda r: r["latency_us"]["p99"])


def received(name):
    return median(name, lambda r: r.get("bytes_received"))


lines = []


def ratio(figure, ours, theirs, target, unit="", fmt="{:,.0f}"):
    if ours is None or theirs is None or not theirs:
        return
    r = ours / theirs
    lines.append((figure, f"{fmt.format(ours)}{unit} / {fmt.format(theirs)}{unit}", f"{r:.2f}x",
                  f">= {target}x", "yes" if r >= target else "NO"))


def at_most(figure, ours, limit, unit="us"):
    if ours is None:
        return
    lines.append((figure, f"{ours:,.0f} {unit}", "", f"<= {limit:,.0f} {unit}",
                  "yes" if ours <= limit else "NO"))


def difference(figure, ours, theirs, limit, unit="us"):
    if ours is None or theirs is None:
        return
    d = ours - theirs
    lines.append((figure, f"{ours:,.0f} / {theirs:,.0f} {unit}", f"{d:+,.0f} {unit}",
                  f"<= +{limit} {unit}", "yes" if d <= limit else "NO"))


for db in ("SQLITE", "PG"):
    ratio(f"bulk {db}: remote / direct rows/s", rows_per_s(f"bulk-{db}-remote"),
          rows_per_s(f"bulk-{db}-direct"), 0.9)
pp = p50("pingpong")
if pp is not None:
    lines.append(("pingpong p50 (this machine's floor)", f"{pp:,.0f} us", "", "", ""))
    s1 = p50("select1-SQLITE-remote")
    if s1 is not None:
        r = s1 / pp
        lines.append(("select1 SQLite p50 / pingpong p50", f"{s1:,.0f} / {pp:,.0f} us",
                      f"{r:.2f}x", "<= 1.3x", "yes" if r <= 1.3 else "NO"))
at_most("select1 SQLite p99", p99("select1-SQLITE-remote"), 150)
difference("select1 PG p50: remote - direct", p50("select1-PG_OLTP-remote"),
           p50("select1-PG_OLTP-direct"), 40)
ratio("lookup 64 sessions PG: remote / direct req/s", rps("lookup64-PG-remote"),
      rps("lookup64-PG-direct"), 1.0)
difference("lookup 1 session PG p50: remote - direct", p50("lookup1-PG-remote"),
           p50("lookup1-PG-direct"), 30)
plain, packed = received("bulk-PG-remote-nocompress"), received("bulk-PG-remote")
if plain and packed:
    r = plain / packed
    lines.append(("compression: bytes saved on bulk PG", f"{packed:,.0f} / {plain:,.0f} B",
                  f"{r:.2f}x fewer", ">= 2x", "yes" if r >= 2 else "NO"))
ratio("compression cost: bulk PG rows/s on / off", rows_per_s("bulk-PG-remote"),
      rows_per_s("bulk-PG-remote-nocompress"), 0.95)
scale = runs("scale-SQLITE")
if scale and scale[0].get("idle") and scale[0]["idle"].get("server_kib_per_session") is not None:
    kib = scale[0]["idle"]["server_kib_per_session"]
    lines.append((f"{scale[0]['idle']['sessions']:,} idle sessions: server KiB each",
                  f"{kib:,.1f} KiB", "", "< 32 KiB", "yes" if kib < 32 else "NO"))
at_most("open loop 2,000 req/s with them: p99", p99("scale-SQLITE-rate2000"), 1000)
ratio("connect: pooled / unpooled cycles/s", rps("connect-PG-pooled"),
      rps("connect-PG-unpooled"), 10)
for db in ("SQLITE", "PG"):
    difference(f"isolation select1 {db} p50: process - thread",
               p50(f"isolation-select1-{db}-process"), p50(f"isolation-select1-{db}-thread"), 30)
    ratio(f"isolation bulk {db}: process / thread rows/s",
          rows_per_s(f"isolation-bulk-{db}-process"), rows_per_s(f"isolation-bulk-{db}-thread"),
          0.95)
ratio("isolation connect PG: process / thread cycles/s", rps("isolation-connect-PG-process"),
      rps("isolation-connect-PG-thread"), 0.9)

# Busy polling (ONLY=busypoll): latency and throughput with and without, and the server's CPU
# (cores busy on average over each run, from /proc).
def cores(name):
    found = []
    for path in sorted(glob.glob(os.path.join(OUT, f"{name}.*.cpu"))):
        ticks, start, end = open(path).read().split()
        found.append(int(ticks) / 100 / (float(end) - float(start)))
    return statistics.median(found) if found else None


pp = p50("pingpong")
polled = p50("poll-select1-SQLITE-on")
if pp is not None and polled is not None:
    r = polled / pp
    lines.append(("select1 SQLite p50 with busy_poll = 200 / pingpong p50", f"{polled:,.0f} / {pp:,.0f} us",
                  f"{r:.2f}x", "<= 1.3x", "yes" if r <= 1.3 else "NO"))
at_most("select1 SQLite p99 with busy_poll = 200", p99("poll-select1-SQLITE-on"), 150)
for name in ("select1-SQLITE", "select1-PG", "lookup64-PG"):
    off, on = f"poll-{name}-off", f"poll-{name}-on"
    if p50(on) is None or p50(off) is None:
        continue
    lines.append((f"busy_poll {name}: p50 / p99 on vs off",
                  f"{p50(on):,.0f} / {p99(on):,.0f} vs {p50(off):,.0f} / {p99(off):,.0f} us",
                  f"{p50(on) / p50(off):.2f}x p50", "", ""))
    lines.append((f"  req/s on vs off; server cores busy on vs off",
                  f"{rps(on):,.0f} vs {rps(off):,.0f}; {cores(on):.2f} vs {cores(off):.2f}",
                  f"{rps(on) / rps(off):.2f}x req/s", "", ""))

# The network case (ONLY=network): rows/s over each emulated link, and how busy the link was
# (bytes received / (time x bandwidth)).
for mbit, rtt in ((100, 10), (1000, 1)):
    name = f"{mbit}mbit-{rtt}ms"
    link = f"{mbit} Mbit/s, {rtt} ms"
    odbcd, psql = rows_per_s(f"net-{name}-bulk-odbcd"), rows_per_s(f"net-{name}-bulk-psql")
    if mbit == 100:
        ratio(f"bulk PG over {link}: odbcd / psql rows/s", odbcd, psql, 1.5)
    elif odbcd is not None and psql is not None:
        lines.append((f"bulk PG over {link}: odbcd / psql rows/s",
                      f"{odbcd:,.0f} / {psql:,.0f}", f"{odbcd / psql:.2f}x", "", ""))
    for who in ("odbcd", "odbcd-plain", "psql"):
        busy = median(f"net-{name}-bulk-{who}",
                      lambda r: r["bytes_received"] * 8 / (r["duration_s"] * mbit * 1e6))
        rate = rows_per_s(f"net-{name}-bulk-{who}")
        if busy is not None:
            lines.append((f"  link busy during the fetch: {who}",
                          f"{busy * 100:.0f} % ({rate:,.0f} rows/s)", "", ">= 80 %",
                          "yes" if busy >= 0.8 else "NO"))
    ping_over, ping_here = p50(f"net-{name}-ping-PG"), p50("net-loopback-ping-PG")
    if ping_over is None or ping_here is None:
        continue
    emulator = ping_over - rtt * 1000 - ping_here
    lines.append((f"  the emulator's own cost (ping over the link - RTT - ping)",
                  f"{emulator:+,.0f} us", "", "", ""))
    for what in ("select1", "lookup"):
        over, here = p50(f"net-{name}-{what}-PG"), p50(f"net-loopback-{what}-PG")
        if over is not None and here is not None:
            more = over - rtt * 1000 - here - emulator
            lines.append((f"{what} PG p50 over {link}: - RTT - loopback - emulator",
                          f"{over:,.0f} us ({here:,.0f} on loopback)", f"{more:+,.0f} us",
                          "<= +20 us", "yes" if more <= 20 else "NO"))

if not lines:
    print(f"no results in {OUT}")
    sys.exit(0)
head = ("figure", "measured", "ratio", "target", "reached")
widths = [max(len(str(row[i])) for row in [head] + lines) for i in range(5)]
for row in [head] + lines:
    print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())

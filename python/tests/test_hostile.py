"""What a careless or hostile caller does to the Python client: signal handlers that use the
session mid-statement, Ctrl-C while rows stream in, values Python cannot hold deep in a result,
failed scrolls, odd arguments, threads still querying at exit. Nothing hangs, nothing is lost,
every error is an odbcd.Error (or the KeyboardInterrupt the user asked for)."""

from __future__ import annotations

import enum
import os
import subprocess
import sys
import textwrap

import pytest

import odbcd
from conftest import WORK


def run_script(script: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a user's script in its own interpreter (a hang fails the test, not the suite)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


@pytest.fixture
def pg_conn(server, pg):
    connection = odbcd.connect("DSN=pg", port=server.port)
    yield connection
    if not connection.closed:
        connection.close()


def test_signal_handlers_may_use_the_session_while_a_statement_waits(server, pg):
    done = run_script(f"""
        import signal, odbcd
        connection = odbcd.connect("DSN=pg", port={server.port})
        cursor, other = connection.cursor(), connection.cursor()
        seen = []
        def cancel(*_):
            seen.append(("cancel", cursor.cancel()))
        signal.signal(signal.SIGALRM, cancel)
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        try:
            cursor.execute("select pg_sleep(5)")
        except odbcd.OperationalError as e:
            seen.append(("cancelled", e.sqlstate))
        connection.rollback()
        def query(*_):
            seen.append(("other", other.execute("select 41 + 1").fetchone()[0]))
        signal.signal(signal.SIGALRM, query)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        cursor.execute("select pg_sleep(1)")
        def same(*_):
            seen.append(("rownumber", cursor.rownumber))
        signal.signal(signal.SIGALRM, same)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        try:
            cursor.execute("select pg_sleep(1)")
        except odbcd.ProgrammingError as e:
            seen.append(("busy", e.sqlstate))
        connection.rollback()
        print(seen)
        print(cursor.execute("select 'still usable'").fetchone()[0])
        """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    seen = eval(lines[0])  # noqa: S307 - our own script's output
    assert ("cancel", True) in seen and ("cancelled", "57014") in seen or ("cancelled", "HY008") in seen, seen
    assert ("other", 42) in seen
    assert ("busy", "HY010") in seen
    assert lines[1] == "still usable"


def test_ctrl_c_while_rows_stream_in_loses_none(server, pg):
    pg.psql("odbcd_py", "create or replace function slow_at(i int) returns int language plpgsql as "
                        "$$ begin if i = 3000 then perform pg_sleep(1.5); end if; return i; end $$")
    done = run_script(f"""
        import signal, odbcd
        connection = odbcd.connect("DSN=pg", port={server.port})
        cursor = connection.cursor()
        cursor.execute("select slow_at(i) from generate_series(1, 5000) i")
        got, interrupted = [], 0
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        signal.signal(signal.SIGALRM, signal.default_int_handler)
        while True:
            try:
                row = cursor.fetchone()
            except KeyboardInterrupt:
                interrupted += 1
                continue
            if row is None:
                break
            got.append(row[0])
        print(interrupted, len(got), got == list(range(1, 5001)), cursor.rownumber)
        """)
    assert done.returncode == 0, done.stderr
    interrupted, count, in_order, rownumber = done.stdout.split()
    assert interrupted == "1"
    assert (count, in_order, rownumber) == ("5000", "True", "5000")


def test_a_value_python_cannot_hold_raises_at_its_row_and_loses_no_other(pg_conn):
    sql = "select i, case when i = 3 then time '24:00' else time '12:00' end from generate_series(1, 600) i"
    cur = pg_conn.cursor()
    cur.execute(sql)
    assert [cur.fetchone()[0], cur.fetchone()[0]] == [1, 2]
    with pytest.raises(odbcd.DataError, match="24:00"):
        cur.fetchone()
    assert cur.fetchone()[0] == 4
    assert cur.rownumber == 4
    # fetchall: the error, then the rows before it and after it.
    cur.execute(sql)
    with pytest.raises(odbcd.DataError):
        cur.fetchall()
    rest = cur.fetchall()
    assert [r[0] for r in rest] == [1, 2] + list(range(4, 601))
    # fetchmany likewise.
    cur.execute(sql)
    with pytest.raises(odbcd.DataError):
        cur.fetchmany(10)
    assert [r[0] for r in cur.fetchmany(10)] == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]


def test_a_failed_scroll_moves_nothing(pg_conn):
    cur = pg_conn.cursor()
    cur.set_scrollable(True)
    cur.execute("select i from generate_series(0, 999) i")
    assert cur.fetchone() == (0,)
    with pytest.raises(IndexError):
        cur.scroll(5000)
    with pytest.raises(IndexError):
        cur.scroll(-5)
    with pytest.raises(IndexError):
        cur.scroll(10**30, "absolute")
    assert cur.fetchone() == (1,)
    forward = pg_conn.cursor()
    forward.execute("select i from generate_series(0, 999) i")
    forward.fetchone()
    with pytest.raises(odbcd.NotSupportedError):
        forward.scroll(2)
    assert forward.fetchone() == (1,)


def test_a_connection_closed_inside_its_with_block(server):
    with odbcd.connect("DSN=demo", port=server.port) as c:
        c.close()
    assert c.closed


class Big(enum.IntEnum):
    HUGE = 2**70


@pytest.mark.parametrize("call", [
    lambda cur: cur.fetchmany(-1),
    lambda cur: setattr(cur, "arraysize", -1),
    lambda cur: setattr(cur, "arraysize", 0),
    lambda cur: cur.set_query_timeout(-1),
    lambda cur: cur.set_max_rows(-1),
    lambda cur: cur.gettypeinfo(10**6),
    lambda cur: cur.specialcolumns(table="t", coltype=-1),
    lambda cur: cur.execute("select ?", bytearray(b"ab")),
    lambda cur: cur.execute("select ?", {1, 2}),
    lambda cur: cur.execute("select '\udc80'"),
    lambda cur: cur.execute("select ?", ("\ud800",)),
], ids=["fetchmany-1", "arraysize-1", "arraysize0", "timeout-1", "maxrows-1", "typeinfo", "specialcolumns",
        "bytearray-params", "set-params", "surrogate-sql", "surrogate-param"])
def test_odd_arguments_are_odbcd_errors(pg_conn, call):
    cur = pg_conn.cursor()
    cur.execute("select 1")
    with pytest.raises(odbcd.Error):
        call(cur)
    pg_conn.rollback()


def test_port_out_of_range_is_an_odbcd_error():
    with pytest.raises(odbcd.Error):
        odbcd.connect("DSN=demo", port=70000)


def test_parameters_keep_what_python_holds(server):
    pd = pytest.importorskip("pandas")
    path = WORK / "params.db"
    path.unlink(missing_ok=True)
    with odbcd.connect(f"Driver={{SQLite3}};Database={path}", port=server.port) as c:
        cur = c.cursor()
        cur.execute("create table t (a text, b text)")
        cur.execute("insert into t values (?, ?)", (pd.Timestamp("2024-01-02 03:04:05.000000789"), Big.HUGE))
        c.commit()
    out = subprocess.run(["sqlite3", str(path), "select a, b from t"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"2024-01-02 03:04:05.000000789|{2**70}"


def test_threads_still_querying_at_exit_end_quietly(server, pg):
    done = run_script(f"""
        import threading, time, odbcd
        connection = odbcd.connect("DSN=pg", port={server.port})
        def work():
            connection.cursor().execute("select pg_sleep(3)")
        threading.Thread(target=work, daemon=True).start()
        time.sleep(0.5)
        print("leaving")
        """)
    assert done.returncode == 0 and "FATAL" not in done.stderr, done
    assert done.stdout.strip() == "leaving"

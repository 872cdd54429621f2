"""Values through odbcd equal values through pyodbc, an independent and widely used client,
connecting in-process to the same data source: every type, both directions, edge values.
Where pyodbc itself loses something (noted per case), psql or sqlite3 is the referee."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal

import pyodbc
import pytest

import odbcd
from conftest import WORK

# (SQL type, literal values as the database's own client writes them) on PostgreSQL.
PG_COLUMNS = [
    ("smallint", ["-32768", "0", "32767"]),
    ("integer", ["-2147483648", "7", "2147483647"]),
    ("bigint", ["-9223372036854775808", "9223372036854775807", "1"]),
    ("numeric(38,10)", ["1234567890123456789012345678.0123456789", "-0.0000000001", "0"]),
    ("numeric", ["3.14159265358979323846264338327950288419716939937510", "1e-30", "-123456789012345678901234567890"]),
    ("numeric(10,2)", ["12.50", "-99999999.99", "0.01"]),
    ("real", ["1.1", "-3.4e38", "1e-30"]),
    ("double precision", ["0.1", "1.7976931348623157e308", "-2.2250738585072014e-308"]),
    ("boolean", ["true", "false", "true"]),
    ("text", ["'plain'", "''", "'ünïcødé ✓ 𝄞 emoji 🎉'"]),
    ("varchar(40)", ["'with ''quotes'' and \\\\ backslash'", "'tab\tand\nnewline'", "'x'"]),
    ("char(5)", ["'ab'", "'abcde'", "' '"]),
    ("bytea", ["'\\x00ff10'::bytea", "''::bytea", "decode(repeat('ab', 5000), 'hex')"]),
    ("date", ["'0001-01-01'", "'2024-02-29'", "'9999-12-31'"]),
    ("time", ["'00:00:00'", "'23:59:59'", "'12:34:56'"]),
    ("timestamp", ["'0001-01-01 00:00:00'", "'2024-02-29 23:59:59.123456'", "'9999-12-31 23:59:59.999999'"]),
    ("uuid", ["'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'", "gen_random_uuid()"]),
    ("json", ["'{\"a\": [1, 2.5, \"x\"]}'", "'[]'", "'\"long\"'"]),
    ("jsonb", ["'{\"b\": {\"c\": null}}'", "'1'", "'[true]'"]),
]

# Values an application sends as parameters, per PostgreSQL column type.
PG_PARAMETERS = [
    ("bigint", [0, -9223372036854775808, 9223372036854775807, None]),
    ("integer", [-2147483648, 2147483647, 12]),
    ("numeric(38,10)", [Decimal("1234567890123456789012345678.0123456789"), Decimal("-0.0000000001"), Decimal("0E-10")]),
    ("numeric", [Decimal("3.14159265358979323846264338327950288419716939937510"), Decimal("1E+20"), Decimal("-7")]),
    ("double precision", [0.1, 1.7976931348623157e308, -5e-324]),
    ("boolean", [True, False, None]),
    ("text", ["plain", "", "ünïcødé ✓ 𝄞 🎉", "x" * 100_000]),
    ("bytea", [b"\x00\xff\x10", b"", bytes(range(256)) * 40]),
    ("date", [dt.date(1, 1, 1), dt.date(2024, 2, 29), dt.date(9999, 12, 31)]),
    ("time", [dt.time(0, 0), dt.time(23, 59, 59), dt.time(12, 34, 56)]),
    ("timestamp", [dt.datetime(1, 1, 1), dt.datetime(2024, 2, 29, 23, 59, 59, 123456), dt.datetime(9999, 12, 31, 23, 59, 59, 999999)]),
]


@pytest.fixture(scope="module")
def pg_pair(server, pg):
    """(odbcd connection, pyodbc connection) to the same PostgreSQL data source."""
    ours = odbcd.connect("DSN=pg", port=server.port)
    theirs = pyodbc.connect("DSN=pg")
    yield ours, theirs
    ours.close()
    theirs.close()


def as_comparable(value):
    # pyodbc hands out uuid columns as str only with native_uuid off (its default), and
    # bytearray-free bytes: both already plain; rows are pyodbc.Row objects.
    return value


@pytest.mark.parametrize("sql_type,literals", PG_COLUMNS, ids=[c[0] for c in PG_COLUMNS])
def test_postgresql_values_read_equal_pyodbc(pg_pair, pg, sql_type, literals):
    ours, theirs = pg_pair
    table = "read_" + sql_type.split("(")[0].replace(" ", "_")
    pg.psql("odbcd_py", f"drop table if exists {table}; create table {table} (i int, v {sql_type})")
    values = ", ".join(f"({i}, {lit})" for i, lit in enumerate(literals)) + f", ({len(literals)}, NULL)"
    pg.psql("odbcd_py", f"insert into {table} values {values}")
    select = f"select v from {table} order by i"
    got = [r[0] for r in ours.cursor().execute(select).fetchall()]
    expected = [r[0] for r in theirs.cursor().execute(select).fetchall()]
    ours.rollback()
    theirs.rollback()
    if sql_type == "uuid":
        # pyodbc reads SQL_GUID into a struct and prints it in upper case; psql (the referee)
        # shows PostgreSQL's lower case, as odbcd does.
        assert [v.upper() if v else v for v in got] == expected
        expected = pg.psql("odbcd_py", f"select coalesce(v::text, 'NULL') from {table} order by i").split("\n")
        got = [v if v is not None else "NULL" for v in got]
    assert got == expected
    assert [type(v) for v in got] == [type(v) for v in expected]


@pytest.mark.parametrize("sql_type,values", PG_PARAMETERS, ids=[p[0] for p in PG_PARAMETERS])
def test_postgresql_parameters_store_what_pyodbc_stores(pg_pair, pg, sql_type, values):
    ours, theirs = pg_pair
    name = sql_type.split("(")[0].replace(" ", "_")
    for conn, table in ((ours, f"w_ours_{name}"), (theirs, f"w_theirs_{name}")):
        cur = conn.cursor()
        cur.execute(f"drop table if exists {table}")
        cur.execute(f"create table {table} (i int, v {sql_type})")
        cur.executemany(f"insert into {table} values (?, ?)", list(enumerate(values)))
        conn.commit()
    # The database's own client shows the same text for both.
    ours_text = pg.psql("odbcd_py", f"select coalesce(v::text, 'NULL') from w_ours_{name} order by i")
    theirs_text = pg.psql("odbcd_py", f"select coalesce(v::text, 'NULL') from w_theirs_{name} order by i")
    assert ours_text == theirs_text
    # And reading back gives the values sent.
    back = [r[0] for r in ours.cursor().execute(f"select v from w_ours_{name} order by i").fetchall()]
    ours.rollback()
    assert back == values


def test_numeric_precision_is_kept_where_a_float_would_lose_it(pg_pair):
    ours, _ = pg_pair
    cur = ours.cursor()
    big = Decimal("12345678901234567890.12345678901234567890")
    assert cur.execute("select ?::numeric", (big,)).fetchone()[0] == big
    beyond_64_bits = 2**70 + 1
    assert cur.execute("select ?::numeric", (beyond_64_bits,)).fetchone()[0] == Decimal(beyond_64_bits)
    ours.rollback()


def test_values_python_cannot_hold_are_data_errors_not_different_values(pg_pair):
    ours, _ = pg_pair
    cur = ours.cursor()
    with pytest.raises(odbcd.DataError, match="outside Python's range"):
        cur.execute("select timestamp '0044-03-15 12:00:00 BC'").fetchone()
    ours.rollback()
    with pytest.raises(odbcd.NotSupportedError, match="time zone"):
        cur.execute("select ?::timestamp", (dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),))
    ours.rollback()
    with pytest.raises(odbcd.NotSupportedError, match="type"):
        cur.execute("select ?", (object(),))
    ours.rollback()
    # Fractions of a time of day arrive whole (pyodbc's TIME drops them).
    assert cur.execute("select time '12:34:56.789012'").fetchone()[0] == dt.time(12, 34, 56, 789012)
    ours.rollback()


SQLITE_TABLE = """create table t (i integer primary key, a integer, b real, c text, d blob,
    e numeric(20,4), f date, g timestamp, h varchar(10), k bit)"""

SQLITE_ROWS = [
    (1, -9223372036854775808, 1.5, "plain", b"\x00\x01", "12.3400", "2024-02-29", "2024-02-29 23:59:59.123", "short", 1),
    (2, 9223372036854775807, -1e300, "ünïcødé 🎉", b"", "-0.0001", "0001-01-01", "1999-12-31 00:00:00", "", 0),
    (3, 0, 0.1, "x" * 50_000, bytes(range(256)), "0", "9999-12-31", "2000-01-01 12:00:00", "ten chars!", None),
    (4, None, None, None, None, None, None, None, None, None),
]


def test_sqlite_values_read_equal_pyodbc(server):
    path = WORK / "types.db"
    path.unlink(missing_ok=True)
    values = []
    for row in SQLITE_ROWS:
        values.append("(" + ", ".join(sqlite_literal(v) for v in row) + ")")
    subprocess.run(["sqlite3", str(path), f"{SQLITE_TABLE}; insert into t values {', '.join(values)};"], check=True)
    connstr = f"Driver={{SQLite3}};Database={path}"
    ours = odbcd.connect(connstr, port=server.port)
    theirs = pyodbc.connect(connstr, autocommit=True)  # no read transaction holding SQLite's lock
    select = "select * from t order by i"
    got = ours.cursor().execute(select).fetchall()
    expected = [tuple(r) for r in theirs.cursor().execute(select).fetchall()]
    assert_sqlite_rows_equal(path, got, expected)
    # Written through odbcd, read through pyodbc (and back): the same values.
    cur = ours.cursor()
    cur.execute("delete from t")
    cur.executemany("insert into t values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, 2**62, 2.5, "ß", b"\x00", Decimal("1.5000"), dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5), "v", True),
        (2, None, None, None, None, None, None, None, None, None),
    ])
    ours.commit()
    expected = [tuple(r) for r in theirs.cursor().execute(select).fetchall()]
    assert_sqlite_rows_equal(path, ours.cursor().execute(select).fetchall(), expected)
    ours.close()
    theirs.close()


def assert_sqlite_rows_equal(path, got, expected) -> None:
    # pyodbc reads SQLite's INTEGER columns as 32-bit C longs (-2**63 comes back as 0, 2**62
    # too): column a is compared with sqlite3's own output instead.
    sqlite_shows = subprocess.run(["sqlite3", str(path), "select coalesce(a, 'NULL') from t order by i"],
                                  capture_output=True, text=True, check=True).stdout.split()
    assert [str(r[1]) if r[1] is not None else "NULL" for r in got] == sqlite_shows
    assert [r[:1] + r[2:] for r in got] == [r[:1] + r[2:] for r in expected]


def sqlite_literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return "X'" + v.hex() + "'"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return repr(v)

"""mxODBC's API beyond PEP 249, from Python: catalog methods, getinfo, prepare, scroll,
messages, callproc, iteration and rownumber, executemany's failing set."""

from __future__ import annotations

import pyodbc
import pytest

import odbcd


@pytest.fixture
def pg_conn(server, pg):
    pg.psql("odbcd_py", """drop table if exists api_child; drop table if exists api_parent;
        create table api_parent (id int primary key, name text not null);
        create table api_child (id int primary key, parent int references api_parent(id));
        insert into api_parent select n, 'name ' || n from generate_series(1, 50) n;""")
    connection = odbcd.connect("DSN=pg", port=server.port)
    yield connection
    if not connection.closed:
        connection.close()


def test_catalog_methods_equal_the_driver_in_process(pg_conn):
    theirs = pyodbc.connect("DSN=pg")
    cur = pg_conn.cursor()
    ours = cur.tables(table="api_%").fetchall()
    assert sorted(r[2] for r in ours) == ["api_child", "api_parent"]
    assert [tuple(r) for r in theirs.cursor().tables(table="api_%").fetchall()] == ours
    columns = cur.columns(table="api_parent").fetchall()
    assert [c[3] for c in columns] == ["id", "name"]
    # DATA_TYPE (index 4) is left out: psqlodbc reports text as SQL_WLONGVARCHAR or
    # SQL_LONGVARCHAR depending on how the application called it (odbcd's server and pyodbc
    # differ there); names and TYPE_NAME agree.
    assert [tuple(r)[:4] + (r[5],) for r in theirs.cursor().columns(table="api_parent").fetchall()] == [c[:4] + (c[5],) for c in columns]
    assert [r[3] for r in cur.primarykeys(table="api_parent").fetchall()] == ["id"]
    fks = cur.foreignkeys(primary_table="api_parent").fetchall()
    assert [(r[2], r[6], r[7]) for r in fks] == [("api_parent", "api_child", "parent")]
    assert cur.statistics(table="api_parent", unique=True).fetchall()
    assert any(r[0] == "int4" for r in cur.gettypeinfo(4).fetchall())
    # pyodbc's rowIdColumns is SQLSpecialColumns(SQL_BEST_ROWID, SQL_SCOPE_TRANSACTION, nullable).
    rowid = cur.specialcolumns(table="api_parent", scope=1).fetchall()
    assert rowid == [tuple(r) for r in theirs.cursor().rowIdColumns("api_parent").fetchall()]
    theirs.close()


def test_getinfo_and_driver_details(pg_conn):
    assert pg_conn.getinfo("SQL_DBMS_NAME") == "PostgreSQL"
    assert pg_conn.getinfo("dbms_name") == "PostgreSQL"
    assert pg_conn.getinfo(17) == "PostgreSQL"  # SQL_DBMS_NAME by number
    assert isinstance(pg_conn.getinfo("SQL_MAX_COLUMNS_IN_SELECT"), int)
    assert pg_conn.dbms_version and pg_conn.driver_name and pg_conn.odbc_version
    with pytest.raises(odbcd.ProgrammingError):
        pg_conn.getinfo("SQL_NOT_A_THING")


def test_prepare_then_execute_the_command(pg_conn):
    cur = pg_conn.cursor()
    cur.prepare("select name from api_parent where id = ?")
    assert cur.command == "select name from api_parent where id = ?"
    assert [cur.execute(cur.command, (i,)).fetchone()[0] for i in (1, 2, 3)] == ["name 1", "name 2", "name 3"]


def test_scroll_and_rownumber(pg_conn):
    cur = pg_conn.cursor()
    cur.set_scrollable(True)
    cur.execute("select id from api_parent order by id")
    assert cur.fetchone() == (1,)
    assert cur.rownumber == 1
    cur.scroll(10, "absolute")
    assert cur.fetchone() == (11,)
    cur.scroll(-3)
    assert cur.fetchone() == (9,)
    assert cur.rownumber == 9
    with pytest.raises(IndexError):
        cur.scroll(1000, "absolute")
    forward_only = pg_conn.cursor()
    forward_only.execute("select 1")
    with pytest.raises(odbcd.NotSupportedError):
        forward_only.scroll(0, "absolute")


def test_rownumber_counts_rows_handed_out_not_rows_converted_ahead(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("select id from api_parent order by id")
    it = iter(cur)
    assert [next(it)[0] for _ in range(3)] == [1, 2, 3]
    assert cur.rownumber == 3
    assert cur.fetchmany(2) == [(4,), (5,)]
    assert cur.rownumber == 5
    assert len(cur.fetchall()) == 45


def test_messages_collect_the_drivers_warnings(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("do $$ begin raise notice 'hello from plpgsql'; end $$")
    assert any("hello from plpgsql" in m[2] for m in cur.messages)
    cur.clear_messages()
    assert cur.messages == []


def test_callproc_and_executemany_failing_set(pg_conn):
    cur = pg_conn.cursor()
    cur.execute("create or replace function api_double(x bigint) returns bigint language sql as 'select x * 2'")
    assert cur.callproc("api_double", (21,)) == [21]
    assert cur.fetchall() == [(42,)]
    with pytest.raises(odbcd.IntegrityError):
        cur.executemany("insert into api_parent values (?, ?)", [(100, "a"), (101, "b"), (1, "dup"), (102, "c")])
    assert cur.failed_set == 2
    pg_conn.rollback()


def test_closed_objects_are_programming_errors(pg_conn):
    cur = pg_conn.cursor()
    cur.close()
    with pytest.raises(odbcd.ProgrammingError):
        cur.execute("select 1")
    pg_conn.close()
    with pytest.raises(odbcd.ProgrammingError):
        pg_conn.cursor()
    with pytest.raises(odbcd.ProgrammingError):
        pg_conn.close()


def test_parameters_must_be_a_sequence(pg_conn):
    with pytest.raises(odbcd.ProgrammingError, match="qmark"):
        pg_conn.cursor().execute("select ?", {"a": 1})
    with pytest.raises(odbcd.ProgrammingError, match="qmark"):
        pg_conn.cursor().execute("select ?", "abc")


def test_type_objects_and_constructors():
    assert odbcd.STRING == 12 and odbcd.STRING == -9 and odbcd.STRING != 4
    assert odbcd.NUMBER == 4 and odbcd.DATETIME == 93 and odbcd.BINARY == -3
    assert odbcd.ROWID != 4
    assert odbcd.Date(2024, 2, 29).isoformat() == "2024-02-29"
    assert odbcd.Binary("é") == b"\xc3\xa9" and odbcd.Binary(bytearray(b"x")) == b"x"
    assert odbcd.TimestampFromTicks(0).year in (1969, 1970)
    assert (odbcd.apilevel, odbcd.threadsafety, odbcd.paramstyle) == ("2.0", 2, "qmark")
    assert issubclass(odbcd.TimeoutError, odbcd.ODBCConnectError)
    assert issubclass(odbcd.ODBCConnectError, odbcd.InterfaceError)
    assert odbcd.ServerSession.__doc__ and odbcd.Cursor.fetchmany.__doc__

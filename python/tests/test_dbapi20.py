"""The classic DB-API 2.0 compliance suite (dbapi20.py, PyPI's `dbapi-compliance`) against odbcd,
on PostgreSQL and on SQLite. Only the two tests the suite leaves for drivers to write are
overridden (nextset, setoutputsize); nothing is skipped."""

from __future__ import annotations

import dbapi20
import pytest

import odbcd

from conftest import WORK


@pytest.fixture(scope="class")
def pg_server(request, server, pg):
    request.cls.connect_args = ("DSN=pg",)
    request.cls.connect_kw_args = {"host": "127.0.0.1", "port": server.port}


@pytest.fixture(scope="class")
def sqlite_server(request, server):
    database = WORK / "dbapi20.db"
    request.cls.connect_args = (f"Driver={{SQLite3}};Database={database}",)
    request.cls.connect_kw_args = {"host": "127.0.0.1", "port": server.port}


class OdbcdCompliance(dbapi20.DatabaseAPI20Test):
    __test__ = False  # the suite runs through the subclasses, one per database
    driver = odbcd
    connect_args = ()
    connect_kw_args: dict = {}

    def test_nextset(self):
        # Neither PostgreSQL functions nor SQLite return several result sets from one call:
        # the statement text holds two queries, which both drivers run as two results.
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL1(cur)
            for sql in self._populate():
                cur.execute(sql)
            cur.execute(
                f"select count(*) from {self.table_prefix}booze; select name from {self.table_prefix}booze"
            )
            self.assertEqual(cur.fetchone()[0], len(self.samples))
            self.assertTrue(cur.nextset())
            names = cur.fetchall()
            self.assertEqual(sorted(n[0] for n in names), sorted(self.samples))
            self.assertIsNone(cur.nextset())
        finally:
            con.close()

    def test_setoutputsize(self):
        # A hint odbcd does not need: long values are fetched whole whatever it says.
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL2(cur)
            long_drink = "x" * 5000
            cur.setoutputsize(10)
            cur.setoutputsize(10, 1)
            cur.execute(f"insert into {self.table_prefix}barflys values (?, ?)", ("a", long_drink))
            cur.execute(f"select drink from {self.table_prefix}barflys")
            self.assertEqual(cur.fetchone()[0], long_drink)
        finally:
            con.close()


@pytest.mark.usefixtures("pg_server")
class TestPostgreSQL(OdbcdCompliance):
    __test__ = True
    table_prefix = "dbapi20test_"
    ddl2 = f"create table {table_prefix}barflys (name varchar(20), drink text)"


@pytest.mark.usefixtures("sqlite_server")
class TestSQLite(OdbcdCompliance):
    __test__ = True
    lower_func = None  # SQLite has no stored procedures (callproc is tested on PostgreSQL)

    def test_nextset(self):
        # SQLite's driver runs one statement per execute ("only one SQL statement allowed")
        # and SQLite has no procedures: no statement has a second result set. What is left to
        # check: a single result has no next one.
        con = self._connect()
        try:
            cur = con.cursor()
            self.executeDDL1(cur)
            for sql in self._populate():
                cur.execute(sql)
            cur.execute(f"select name from {self.table_prefix}booze")
            self.assertEqual(len(cur.fetchall()), len(self.samples))
            self.assertIsNone(cur.nextset())
        finally:
            con.close()

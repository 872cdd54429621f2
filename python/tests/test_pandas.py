"""pandas.read_sql through an odbcd connection gives the frame pyodbc gives in-process."""

from __future__ import annotations

import warnings

import pandas as pd
import pyodbc

import odbcd


def read(connection, sql: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        # pandas warns that it only tests SQLAlchemy and sqlite3 connections.
        warnings.simplefilter("ignore", UserWarning)
        return pd.read_sql(sql, connection)


def test_read_sql_equals_pyodbc(server, pg):
    pg.psql("odbcd_py", """drop table if exists sales;
        create table sales (id int primary key, region text, amount numeric(12,2), ratio double precision,
                            sold date, at timestamp, flag boolean, note varchar(30));
        insert into sales select n, 'region ' || (n % 7), n * 1.25, n / 3.0, date '2024-01-01' + n,
                                 timestamp '2024-01-01 00:00:00' + n * interval '1 minute 1.5 second',
                                 n % 2 = 0, case when n % 5 = 0 then null else 'note ' || n end
                          from generate_series(1, 2000) n""")
    sql = "select * from sales order by id"
    ours = odbcd.connect("DSN=pg", port=server.port)
    theirs = pyodbc.connect("DSN=pg")
    frame = read(ours, sql)
    expected = read(theirs, sql)
    assert len(frame) == 2000
    assert list(frame.columns) == ["id", "region", "amount", "ratio", "sold", "at", "flag", "note"]
    pd.testing.assert_frame_equal(frame, expected)
    # With parameters.
    frame = read_params(ours, "region 3")
    assert len(frame) == 286
    pd.testing.assert_frame_equal(frame, read_params(theirs, "region 3"))
    ours.close()
    theirs.close()


def read_params(connection, region: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pd.read_sql("select id, amount from sales where region = ? order by id", connection, params=(region,))

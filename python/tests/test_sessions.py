"""The Python client as an application uses it: sessions, fail-over, a cut link, errors,
configuration, threads, Ctrl-C and the interpreter's exit. Real servers, real drivers."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import odbcd
from conftest import WORK, Proxy, free_port, odbcd_bin


def test_a_session_through_the_manual_api(server):
    session = odbcd.ServerSession(config_data=server.config_data())
    assert session.closed
    server_odbc = session.open()
    assert not session.closed
    assert session.server_version
    assert session.session_id
    assert "demo" in server_odbc.DataSources()
    assert "SQLite3" in server_odbc.Drivers()
    connection = server_odbc.DriverConnect("DSN=demo")
    assert connection.autocommit is False
    assert connection.dbms_name == "SQLite"
    cursor = connection.cursor()
    cursor.execute("create table if not exists fruit (id integer primary key, name text)")
    cursor.execute("delete from fruit")
    cursor.executemany("insert into fruit values (?, ?)", [(1, "apple"), (2, "pear"), (3, "fig")])
    connection.commit()
    cursor.execute("select id, name from fruit where id > ? order by id", (1,))
    assert [d[0] for d in cursor.description] == ["id", "name"]
    assert cursor.description[0][1] == odbcd.NUMBER
    assert cursor.description[1][1] == odbcd.STRING
    assert list(cursor) == [(2, "pear"), (3, "fig")]
    # The module's API on the proxy and the connection, as mxODBC has it.
    assert server_odbc.ProgrammingError is odbcd.ProgrammingError
    assert connection.IntegrityError is odbcd.IntegrityError
    session.close()
    assert session.closed
    with pytest.raises(odbcd.Error):
        cursor.execute("select 1")


def test_connect_opens_a_session_and_closing_ends_it(server, pg):
    with odbcd.connect("DSN=pg", host="127.0.0.1", port=server.port) as connection:
        cursor = connection.cursor()
        cursor.execute("select current_database(), 1 + 1")
        assert cursor.fetchone() == ("odbcd_py", 2)
    assert connection.closed
    wait_until(lambda: backends(pg) == 0, "the PostgreSQL backend to go")


def backends(pg) -> int:
    return int(pg.psql("postgres", "select count(*) from pg_stat_activity where datname = 'odbcd_py' and backend_type = 'client backend'"))


def wait_until(condition, what: str, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_fail_over_to_the_second_server_when_the_first_is_down(server):
    down = free_port()  # nothing listens there
    config = {
        "Communication": {"server_connections": "Primary_Connection, Backup_Connection"},
        "Primary_Connection": {"host": "127.0.0.1", "port": down},
        "Backup_Connection": {"host": "127.0.0.1", "port": server.port},
    }
    session = odbcd.ServerSession(config_data=config)
    odbc = session.open()
    assert session.server_name == "Backup_Connection"
    cursor = odbc.DriverConnect("DSN=demo").cursor()
    assert cursor.execute("select 42").fetchone() == (42,)
    session.close()


def test_every_server_down_is_an_operational_error_naming_each():
    config = {
        "Communication": {"server_connections": "A_Connection, B_Connection"},
        "A_Connection": {"host": "127.0.0.1", "port": free_port()},
        "B_Connection": {"host": "127.0.0.1", "port": free_port()},
    }
    with pytest.raises(odbcd.OperationalError) as failed:
        odbcd.ServerSession(config_data=config).open()
    assert "A_Connection" in str(failed.value) and "B_Connection" in str(failed.value)


def test_a_link_cut_mid_fetch_resumes_and_every_row_arrives_once(server, pg):
    pg.psql("odbcd_py", "drop table if exists numbers; create table numbers as select n, md5(n::text) as h from generate_series(1, 30000) n")
    proxy = Proxy(server.port)
    try:
        session = odbcd.ServerSession(config_data={
            "Communication": {"server_connections": "Proxied_Connection"},
            "Proxied_Connection": {"host": "127.0.0.1", "port": proxy.port},
        })
        cursor = session.open().DriverConnect("DSN=pg").cursor()
        cursor.execute("select n, h from numbers order by n")
        first = cursor.fetchmany(100)
        # The link breaks twice while the rest streams in.
        proxy.cut_after(200_000)
        rest = cursor.fetchall()
        proxy.cut()
        rows = first + rest
        assert [r[0] for r in rows] == list(range(1, 30001))
        assert rows[29999] == (30000, pg.psql("odbcd_py", "select md5('30000')"))
        assert proxy.accepted >= 2  # the session came back over a new connection
        session.close()
    finally:
        proxy.close()


def test_error_classes_carry_sqlstate_native_and_records(server, pg):
    connection = odbcd.connect("DSN=pg", port=server.port)
    cursor = connection.cursor()
    with pytest.raises(odbcd.ProgrammingError) as syntax:
        cursor.execute("selec 1")
    assert syntax.value.sqlstate == "42601"
    assert syntax.value.records and syntax.value.records[0][0] == "42601"
    assert isinstance(syntax.value, odbcd.DatabaseError) and isinstance(syntax.value, Exception)
    connection.rollback()
    cursor.execute("create temporary table uniq (id int primary key)")
    cursor.execute("insert into uniq values (1)")
    with pytest.raises(odbcd.IntegrityError) as duplicate:
        cursor.execute("insert into uniq values (1)")
    assert duplicate.value.sqlstate == "23505"
    assert "uniq" in str(duplicate.value)
    connection.rollback()
    # mxODBC Connect's error module.
    from odbcd.Error import IntegrityError

    assert IntegrityError is odbcd.IntegrityError
    error_module = importlib.import_module("odbcd.Error")  # `import odbcd.Error`
    assert error_module.ProgrammingError is odbcd.ProgrammingError
    connection.close()


def test_a_wrong_password_and_max_sessions(fresh_server):
    users = WORK / "users.txt"
    subprocess.run([str(odbcd_bin()), "passwd", "-f", str(users), "--add", "joe", "-p", "s3cret"], check=True)
    server = fresh_server(f"[Authentication]\nauth_mode = file\npassword_file = {users}\n[Session]\nmax_sessions = 1\n")
    with pytest.raises(odbcd.ODBCConnectError) as refused:
        odbcd.ServerSession(config_data=server.config_data()).open("joe", "wrong")
    assert isinstance(refused.value, odbcd.InterfaceError)
    first = odbcd.ServerSession(config_data=server.config_data())
    first.open("joe", "s3cret")
    with pytest.raises(odbcd.PolicyViolationError) as full:
        odbcd.ServerSession(config_data=server.config_data()).open("joe", "s3cret")
    assert "max_sessions" in str(full.value) or "sessions" in str(full.value)
    first.close()


def test_config_data_overrides_the_file(server, tmp_path):
    config = tmp_path / "client-config.ini"
    config.write_text(textwrap.dedent(f"""\
        [Communication]
        server_connections = Main_Connection
        [Main_Connection]
        host = 127.0.0.1
        port = {free_port()}
        """))
    # The file alone points at nothing.
    with pytest.raises(odbcd.OperationalError):
        odbcd.ServerSession(str(config)).open()
    session = odbcd.ServerSession(str(config), {"Main_Connection": {"port": server.port}})
    session.open()
    assert session.server_name == "Main_Connection"
    session.close()
    with pytest.raises(odbcd.ConfigurationError) as bad:
        odbcd.ServerSession(str(config), {"Main_Connection": {"prot": 1}})
    assert "prot" in str(bad.value)


def test_threads_run_statements_in_parallel(server, pg):
    """A statement waiting on the server releases the GIL: the second thread unblocks the
    first one's statement (an advisory lock), which a held GIL would deadlock."""
    holder = odbcd.connect("DSN=pg", port=server.port, clear_auto_commit=False)
    waiter = odbcd.connect("DSN=pg", port=server.port, clear_auto_commit=False)
    holder.cursor().execute("select pg_advisory_lock(4242)")
    got = []

    def wait_for_lock():
        got.append(waiter.cursor().execute("select pg_advisory_lock(4242), 'got it'").fetchone()[1])

    thread = threading.Thread(target=wait_for_lock)
    thread.start()
    wait_until(lambda: int(pg.psql("postgres", "select count(*) from pg_locks where locktype = 'advisory' and not granted")) == 1,
               "the second thread to wait for the lock")
    holder.cursor().execute("select pg_advisory_unlock(4242)")
    thread.join(20)
    assert got == ["got it"]
    # And many threads on their own connections at once.
    results = []

    def count(i):
        with odbcd.connect("DSN=pg", port=server.port) as c:
            results.append(c.cursor().execute("select count(*) + ? from generate_series(1, 1000)", (i,)).fetchone()[0])

    threads = [threading.Thread(target=count, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [1000 + i for i in range(8)]
    holder.close()
    waiter.close()


def test_ctrl_c_cancels_a_long_query_on_the_server(server, pg):
    script = textwrap.dedent(f"""\
        import sys, time, odbcd
        connection = odbcd.connect("DSN=pg", port={server.port})
        cursor = connection.cursor()
        print("started", flush=True)
        began = time.monotonic()
        try:
            cursor.execute("select pg_sleep(60)")
            print("not interrupted")
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - began, 1), flush=True)
        connection.rollback()
        print("usable", cursor.execute("select 7").fetchone()[0], flush=True)
        connection.close()
        """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "started"
    wait_until(lambda: "pg_sleep" in pg.psql("postgres", "select string_agg(query, ' ') from pg_stat_activity where state = 'active'"),
               "the query to run")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("interrupted after"), out
    assert float(lines[0].split()[-1]) < 30
    assert lines[1] == "usable 7"
    # Cancelled on the server, not merely abandoned by the client.
    assert "pg_sleep" not in (pg.psql("postgres", "select coalesce(string_agg(query, ' '), '') from pg_stat_activity where state = 'active' and query like '%pg_sleep(60)%' and pid <> pg_backend_pid()"))


def test_a_session_left_open_closes_at_exit_without_hanging(server, pg):
    script = textwrap.dedent(f"""\
        import odbcd
        session = odbcd.ServerSession(config_data={{"Communication": {{"server_connections": "S_Connection"}},
                                                   "S_Connection": {{"port": {server.port}}}}})
        connection = session.open().DriverConnect("DSN=pg")
        connection.cursor().execute("select 1")
        kept = odbcd.connect("DSN=pg", port={server.port})
        print("open", flush=True)
        """)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "open" and done.stderr == "", done
    assert time.monotonic() - began < 10
    # Both sessions told the server at exit: their PostgreSQL backends go at once, not after
    # the server's resume window.
    wait_until(lambda: backends(pg) == 0, "the sessions' backends to close", seconds=5)


def make_certificate(directory, name: str):
    key, cert = directory / f"{name}.pkey", directory / f"{name}.cert"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:FALSE",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


def test_tls_with_server_verification_and_compression(fresh_server, tmp_path):
    key, cert = make_certificate(tmp_path, "server")
    _, other = make_certificate(tmp_path, "impostor")
    server = fresh_server("[Session]\nenable_compression = 1\n",
                          listener=f"require_ssl = 1\nserver_private_key_file = {key}\nserver_certificate_file = {cert}\n")

    def config(trusted):
        return server.config_data(Test_Connection={"using_ssl": 1, "server_certificate_file": str(trusted)},
                                  Session={"enable_compression": 1})

    session = odbcd.ServerSession(config_data=config(cert))
    cursor = session.open().DriverConnect("DSN=demo").cursor()
    assert cursor.execute("select ?, length(?)", ("über TLS", "x" * 100_000)).fetchone() == ("über TLS", 100_000)
    session.close()
    # A server whose certificate the client does not trust is refused before any login.
    with pytest.raises(odbcd.ODBCConnectError, match="certificate"):
        odbcd.ServerSession(config_data=config(other)).open()
    # A plain client is told the server requires TLS.
    with pytest.raises(odbcd.Error):
        odbcd.ServerSession(config_data=server.config_data()).open()

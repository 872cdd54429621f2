"""The test harness of the Python client: real odbcd servers (the binary cargo built), real
ODBC drivers (SQLite, and PostgreSQL on a throwaway cluster made with initdb), real TCP.

Environment: ODBCD_BIN names the server binary (default: target/debug/odbcd of this
repository). The ODBC ini files are written before pyodbc loads the driver manager, so the
in-process comparisons see the same data sources as the server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SQLITE_DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so"
PG_DRIVER = "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so"
PG_DB = "odbcd_py"

WORK = Path(tempfile.mkdtemp(prefix="odbcd-pytest-"))
os.chmod(WORK, 0o755)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def odbcd_bin() -> Path:
    path = Path(os.environ.get("ODBCD_BIN", ROOT / "target" / "debug" / "odbcd"))
    if not path.exists():
        pytest.exit(f"{path} missing: build the server first (cargo build --bin odbcd)", 2)
    return path


class Postgres:
    """A throwaway PostgreSQL cluster (as the postgres user when running as root)."""

    def __init__(self) -> None:
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        self.bin = bindirs[-1]
        self.as_root = os.geteuid() == 0
        self.dir = WORK / "pg"
        self.dir.mkdir()
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        data = self.dir / "data"
        self._run([self.bin / "initdb", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "-D", str(data)])
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200"
        self._run([self.bin / "pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-o", opts, "start"])
        self.data = data
        self.psql("postgres", f"CREATE DATABASE {PG_DB}")

    def _run(self, argv) -> str:
        argv = [str(a) for a in argv]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        out = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr}")
        return out.stdout

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
            capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )
        if out.returncode != 0:
            raise RuntimeError(f"psql {sql}: {out.stderr}")
        return out.stdout.strip()

    def stop(self) -> None:
        try:
            self._run([self.bin / "pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"])
        except RuntimeError:
            pass


_pg: Postgres | None = None


def write_odbc_ini() -> None:
    (WORK / "odbcinst.ini").write_text(
        f"[SQLite3]\nDescription=SQLite3 ODBC Driver\nDriver={SQLITE_DRIVER}\n\n"
        f"[PostgreSQL Unicode]\nDescription=PostgreSQL ODBC driver (Unicode)\nDriver={PG_DRIVER}\n"
    )
    text = f"[demo]\nDescription=demo SQLite database\nDriver=SQLite3\nDatabase={WORK / 'demo.db'}\nStepAPI=1\n"
    if _pg is not None:
        text += (
            f"\n[pg]\nDescription=test PostgreSQL database\nDriver=PostgreSQL Unicode\n"
            f"Servername=127.0.0.1\nPort={_pg.port}\nDatabase={PG_DB}\nUsername=postgres\n"
            "UseDeclareFetch=1\nFetch=2000\nBoolsAsChar=0\n"
        )
    (WORK / "odbc.ini").write_text(text)


os.environ["ODBCSYSINI"] = str(WORK)
os.environ["ODBCINI"] = str(WORK / "odbc.ini")
os.environ.setdefault("LC_ALL", "C.UTF-8")
write_odbc_ini()


def pytest_sessionfinish(session, exitstatus):
    if _pg is not None:
        _pg.stop()
    shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture(scope="session")
def pg() -> Postgres:
    """The PostgreSQL cluster, with DSN `pg` pointing at its test database."""
    global _pg
    if _pg is None:
        _pg = Postgres()
        write_odbc_ini()
    return _pg


ACCESS = "[Access]\nallowed_drivers = SQLite3, PostgreSQL Unicode\nallowed_unsafe_keys = Database\n"


class Server:
    """An `odbcd run` process on a free port, with `config` added to a minimal configuration
    and `listener` to its [Connection] section."""

    def __init__(self, config: str = "", port: int = 0, listener: str = "") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="server-", dir=WORK))
        cfg = self.dir / "server-config.ini"
        cfg.write_text(
            f"[Connection]\ninterface = 127.0.0.1\nport = {port}\n{listener}\n"
            f"[Logging]\nlog_level = mx.Log.SYSTEM_INFO\n\n{ACCESS}\n{config}\n"
        )
        ready = self.dir / "ready"
        self.log_path = self.dir / "log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(odbcd_bin()), "run", "--config", str(cfg), "--ready-file", str(ready)],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
            env={k: v for k, v in os.environ.items() if k != "RUST_LOG"},
        )
        end = time.monotonic() + 20
        while True:
            if ready.exists() and ready.read_text().strip():
                addr = ready.read_text().split()[1]
                self.port = int(addr.rsplit(":", 1)[1])
                break
            if self.process.poll() is not None or time.monotonic() > end:
                self.kill()
                raise RuntimeError(f"odbcd did not start:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_text()

    def config_data(self, **sections) -> dict:
        """client config_data for this server alone (plus `sections`)."""
        data = {"Communication": {"server_connections": "Test_Connection"},
                "Test_Connection": {"host": "127.0.0.1", "port": str(self.port)}}
        for name, options in sections.items():
            data.setdefault(name, {}).update(options)
        return data

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def server(pg):
    """A server with the SQLite (`demo`) and PostgreSQL (`pg`) data sources."""
    s = Server()
    yield s
    s.kill()


@pytest.fixture
def fresh_server(pg):
    """A server of the test's own, configured by calling it with config text."""
    started = []

    def start(config: str = "", listener: str = "") -> Server:
        s = Server(config, listener=listener)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


class Proxy:
    """A TCP proxy in front of a server: `cut()` drops every connection through it (both ways
    at once, mid-stream), as a broken network would."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.live: list[socket.socket] = []
        self.forwarded = 0
        #: Connections accepted so far.
        self.accepted = 0
        self.cut_after_bytes: int | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.live += [client, upstream]
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, downstream: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if downstream:
                    with self.lock:
                        self.forwarded += len(data)
                        due = self.cut_after_bytes is not None and self.forwarded >= self.cut_after_bytes
                        if due:
                            self.cut_after_bytes = None
                    if due:
                        self.cut()
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self.lock:
            live, self.live = self.live, []
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def cut_after(self, downstream_bytes: int) -> None:
        """Cuts every connection once this many more bytes went from server to client."""
        with self.lock:
            self.cut_after_bytes = self.forwarded + downstream_bytes

    def close(self) -> None:
        self.listener.close()
        self.cut()

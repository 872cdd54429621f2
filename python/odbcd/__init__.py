"""odbcd: the Python client of odbcd, the networked ODBC server.

mxODBC Connect's session API (``ServerSession``) and a PEP 249 (DB-API 2.0) interface over
odbcd's Rust client library: fail-over across ``server_connections``, session resume with
exactly-once answers, TLS, compression and the login come from it. No ODBC driver or driver
manager is needed on this machine::

    import odbcd
    session = odbcd.ServerSession("client-config.ini")
    server = session.open()
    connection = server.DriverConnect("DSN=demo")
    cursor = connection.cursor()
    cursor.execute("SELECT id, name FROM fruit WHERE id > ?", (1,))
    for id, name in cursor:
        print(id, name)
    connection.commit()
    session.close()

Or, for tools that expect a module-level ``connect``::

    connection = odbcd.connect("DSN=demo", host="db.example.com", port=6632)

Values: ``None``, ``bool``, ``int`` (beyond 64 bits sent as an exact decimal), ``float``,
``decimal.Decimal`` (exact, never through a float), ``str``, ``bytes``/``bytearray``/
``memoryview``, ``datetime.date``/``time``/``datetime`` (naive). Results come back as the same
types; NUMERIC/DECIMAL columns as ``Decimal``. A value Python cannot hold (a year outside
1..9999, nanoseconds) raises ``DataError`` rather than change.
"""

from __future__ import annotations

import atexit as _atexit
import datetime as _datetime
import sys as _sys
import time as _time
import weakref as _weakref

from . import _errors
from ._errors import (
    ConfigurationError,
    ConnectionFailureError,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    ODBCConnectError,
    OperationalError,
    PolicyViolationError,
    ProgrammingError,
    ProtocolError,
    TimeoutError,
    Warning,
)
from ._odbcd import Connection, Cursor, ServerODBC, __version__
from ._odbcd import ServerSession as _ServerSession
from ._odbcd import _exiting
from ._odbcd import connect as _connect

# `import odbcd.Error` / `from odbcd.Error import ProgrammingError` (mxODBC Connect's error
# module) resolve to the base class, which carries every class as an attribute.
_sys.modules[__name__ + ".Error"] = Error

#: PEP 249: the DB-API level.
apilevel = "2.0"
#: PEP 249: threads may share the module and connections (a connection's requests are
#: multiplexed on its session's link), not cursors.
threadsafety = 2
#: PEP 249: question-mark parameters (``WHERE id = ?``).
paramstyle = "qmark"

# Sessions still open at interpreter exit are told goodbye without waiting for the server
# (no hang, no error, whatever the order in which modules are torn down).
_open_sessions: "_weakref.WeakSet" = _weakref.WeakSet()
_open_connections: "_weakref.WeakSet" = _weakref.WeakSet()


class ServerSession(_ServerSession):
    """A session with an odbcd server (mxODBC Connect's ``ServerSession``).

    ``ServerSession(config_file=None, config_data=None)``: ``config_file`` is a client
    configuration file (manual 4.2); ``config_data`` a dict of sections, each a dict of options,
    overriding the file (or the defaults: one server at 127.0.0.1:6632). ``open()`` connects to
    the first server of ``[Communication] server_connections`` that accepts and returns the
    server's ODBC interface (``DriverConnect``, ``Connect``, ``DataSources``).

    The session closes with ``close()``, as a context manager, when garbage collected, and at
    interpreter exit (without waiting for the server then).
    """

    def __init__(self, config_file=None, config_data=None):
        _open_sessions.add(self)

    def open(self, username="", password="", module_name=None, session_id=None) -> ServerODBC:
        """Connects to the first configured server that accepts the session and returns the
        server's ODBC interface; ``session_id`` resumes an earlier session."""
        return super().open(username, password, module_name, session_id)


def connect(
    connection_string: str,
    *,
    host: str | None = None,
    port: int | None = None,
    user: str | None = None,
    password: str | None = None,
    config_file: str | None = None,
    config_data: dict | None = None,
    clear_auto_commit: bool = True,
) -> Connection:
    """Opens a session and a database connection in one call (for tools that expect a
    module-level ``connect``); closing the connection closes the session.

    ``host``/``port`` name the one server to use (else the configuration's
    ``server_connections``); ``user``/``password`` log in to odbcd; ``connection_string`` is the
    ODBC connection string the server's driver manager gets (``DSN=...``)."""
    connection = _connect(
        connection_string,
        host=host,
        port=port,
        user=user,
        password=password,
        config_file=config_file,
        config_data=config_data,
        clear_auto_commit=clear_auto_commit,
    )
    _open_connections.add(connection)
    return connection


def _close_at_exit() -> None:
    # Threads still inside a call (daemon threads) stay there from now on: the exiting
    # interpreter cannot take them back.
    _exiting()
    for connection in list(_open_connections):
        try:
            connection._close_nowait()
        except Exception:  # noqa: BLE001 - nothing may fail at exit
            pass
    for session in list(_open_sessions):
        try:
            session.close_nowait()
        except Exception:  # noqa: BLE001
            pass


_atexit.register(_close_at_exit)


# PEP 249 type objects and constructors.


class DBAPITypeObject:
    """A PEP 249 type object: equal to each ODBC SQL type code of its group, so that
    ``cursor.description[i][1] == odbcd.NUMBER`` tells the column's kind."""

    def __init__(self, name: str, *codes: int) -> None:
        self.name = name
        self.codes = frozenset(codes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DBAPITypeObject):
            return self.codes == other.codes
        return other in self.codes

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.codes)

    def __repr__(self) -> str:
        return f"odbcd.{self.name}"


# ODBC SQL type codes (sql.h, sqlext.h).
#: Character columns: CHAR, VARCHAR, LONGVARCHAR and their Unicode forms, GUID.
STRING = DBAPITypeObject("STRING", 1, 12, -1, -8, -9, -10, -11)
#: Binary columns: BINARY, VARBINARY, LONGVARBINARY.
BINARY = DBAPITypeObject("BINARY", -2, -3, -4)
#: Numeric columns: NUMERIC, DECIMAL, INTEGER, SMALLINT, FLOAT, REAL, DOUBLE, BIGINT,
#: TINYINT, BIT.
NUMBER = DBAPITypeObject("NUMBER", 2, 3, 4, 5, 6, 7, 8, -5, -6, -7)
#: Date and time columns: DATE, TIME, TIMESTAMP (ODBC 2 and 3 codes), intervals.
DATETIME = DBAPITypeObject("DATETIME", 9, 10, 11, 91, 92, 93, *range(101, 114))
#: Row-id columns: ODBC has no type code of its own for them; equal to nothing a driver reports.
ROWID = DBAPITypeObject("ROWID")

#: A date value.
Date = _datetime.date
#: A time-of-day value.
Time = _datetime.time
#: A timestamp value.
Timestamp = _datetime.datetime


def DateFromTicks(ticks: float) -> _datetime.date:  # noqa: N802 - PEP 249's name
    """The local date of ``ticks`` seconds since the epoch."""
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _datetime.time:  # noqa: N802
    """The local time of day of ``ticks`` seconds since the epoch."""
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _datetime.datetime:  # noqa: N802
    """The local timestamp of ``ticks`` seconds since the epoch."""
    return Timestamp(*_time.localtime(ticks)[:6])


def Binary(value) -> bytes:  # noqa: N802
    """A binary value (bytes) from bytes, a bytearray, a memoryview or a string's UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


__all__ = [
    "apilevel",
    "threadsafety",
    "paramstyle",
    "connect",
    "ServerSession",
    "ServerODBC",
    "Connection",
    "Cursor",
    "Date",
    "Time",
    "Timestamp",
    "DateFromTicks",
    "TimeFromTicks",
    "TimestampFromTicks",
    "Binary",
    "STRING",
    "BINARY",
    "NUMBER",
    "DATETIME",
    "ROWID",
    "DBAPITypeObject",
    *_errors.__all__,
]

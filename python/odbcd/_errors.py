"""The exception classes of mxODBC Connect (manual 5.5), as PEP 249 wants them.

Every error the client raises is an instance of one of these classes, carrying the SQLSTATE,
the driver's native error code, the message and every diagnostic record the driver gave::

    Exception
    |__Warning
    |__Error
       |__InterfaceError
       |  |__ODBCConnectError          (session errors)
       |     |__ConfigurationError
       |     |__ConnectionFailureError
       |     |__PolicyViolationError
       |     |__ProtocolError
       |     |__TimeoutError
       |__DatabaseError
          |__DataError
          |__OperationalError
          |__IntegrityError
          |__InternalError
          |__ProgrammingError
          |__NotSupportedError
"""

from __future__ import annotations

import builtins

__all__ = [
    "Warning",
    "Error",
    "InterfaceError",
    "DatabaseError",
    "DataError",
    "OperationalError",
    "IntegrityError",
    "InternalError",
    "ProgrammingError",
    "NotSupportedError",
    "ODBCConnectError",
    "ConfigurationError",
    "ConnectionFailureError",
    "PolicyViolationError",
    "ProtocolError",
    "TimeoutError",
]


class _Diagnostics:
    """What every odbcd exception carries."""

    #: The five-character SQLSTATE (``HY000`` when none applies).
    sqlstate: str
    #: The driver's native error code (0 when none applies).
    native: int
    #: The message.
    message: str
    #: Every diagnostic record: a list of (sqlstate, native, message) tuples.
    records: list

    def __init__(self, message: str = "", sqlstate: str = "HY000", native: int = 0, records=None):
        # args as mxODBC has them: (sqlstate, native, message).
        super().__init__(sqlstate, native, message)
        self.sqlstate = sqlstate
        self.native = native
        self.message = message
        self.records = list(records) if records else [(sqlstate, native, message)]

    def __str__(self) -> str:
        return f"[{self.sqlstate}] {self.message}" if self.native == 0 else f"[{self.sqlstate}] ({self.native}) {self.message}"

    def __reduce__(self):
        return (type(self), (self.message, self.sqlstate, self.native, self.records))


class Warning(_Diagnostics, builtins.Exception):  # noqa: A001 - PEP 249's name
    """Important warnings like data truncations while inserting."""


class Error(_Diagnostics, builtins.Exception):
    """Base class of all other errors; catch it to catch every database or interface error."""


class InterfaceError(Error):
    """Errors of the interface rather than of the database."""


class DatabaseError(Error):
    """Errors of the database."""


class DataError(DatabaseError):
    """Problems with the processed data: division by zero, numeric value out of range, a value
    Python cannot hold."""


class OperationalError(DatabaseError):
    """Errors of the database's operation: an unexpected disconnect, an unknown data source, a
    transaction that could not be processed, a cancelled statement."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database is affected (unique, foreign keys, checks)."""


class InternalError(DatabaseError):
    """The database's internal errors: an invalid cursor, a transaction out of sync."""


class ProgrammingError(DatabaseError):
    """Programming errors: a table not found or already there, a syntax error, a wrong number
    of parameters, an operation on a closed object."""


class NotSupportedError(DatabaseError):
    """A method or database API the database or driver does not support."""


class ODBCConnectError(InterfaceError):
    """Base class of the session errors (protocol, policy, network)."""


class ConfigurationError(ODBCConnectError):
    """Errors in the client or server configuration files or data."""


class ConnectionFailureError(ODBCConnectError):
    """The link to the server closed prematurely."""


class PolicyViolationError(ODBCConnectError):
    """A server-side limit was hit (max_sessions, licences, access rules)."""


class ProtocolError(ODBCConnectError):
    """An error in odbcd's protocol, e.g. a version mismatch between client and server."""


class TimeoutError(ODBCConnectError):  # noqa: A001 - the manual's name
    """A connection, server or query timeout."""


class ScrollRangeError(ProgrammingError, builtins.IndexError):
    """A scroll outside the result set (PEP 249 asks for an IndexError)."""


# `from odbcd.Error import ProgrammingError` and `odbcd.Error.ProgrammingError`, as mxODBC
# Connect's `mx.ODBCConnect.Error` module has them, while `odbcd.Error` stays the base class.
for _name in [*__all__, "ScrollRangeError"]:
    globals()[_name].__module__ = "odbcd"
    setattr(Error, _name, globals()[_name])
del _name

"""Typed exceptions for libbackfill's BF_E_* status codes."""


class BackfillError(Exception):
    """A libbackfill call failed. `code` is the BF_E_* value, `name` its
    symbolic name, and the message names the thing at fault."""

    code = None
    name = "BF_E_UNKNOWN"

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


def _make(name, code, doc):
    cls = type(name, (BackfillError,), {"__doc__": doc, "code": code})
    cls.name = "BF_E_" + {
        "InvalidError": "INVALID", "ParseError": "PARSE", "OutOfMemoryError": "NOMEM",
        "IOFailure": "IO", "NotFoundError": "NOT_FOUND", "ConflictError": "CONFLICT",
        "StateError": "STATE", "LeaseLostError": "LEASE_LOST", "BlockedError": "BLOCKED",
        "ValidationError": "VALIDATION", "BusyError": "BUSY", "DriverError": "DRIVER",
        "UnsupportedError": "UNSUPPORTED", "UserCallbackError": "USER", "ABIError": "ABI",
        "InternalError": "INTERNAL",
    }[name]
    return cls


InvalidError = _make("InvalidError", -1, "A bad argument or value.")
ParseError = _make("ParseError", -2, "Unreadable input.")
OutOfMemoryError = _make("OutOfMemoryError", -3, "An allocation failed.")
IOFailure = _make("IOFailure", -4, "A file or the operating system failed.")
NotFoundError = _make("NotFoundError", -5, "No such run, batch, table, file or name.")
ConflictError = _make("ConflictError", -6, "Exists already, or differs from what is recorded.")
StateError = _make("StateError", -7, "The transition is not legal from the current state.")
LeaseLostError = _make("LeaseLostError", -8, "The lease expired or a newer fencing token exists.")
BlockedError = _make("BlockedError", -9, "Preflight or approval refuses.")
ValidationError = _make("ValidationError", -10, "A validation check failed.")
BusyError = _make("BusyError", -11, "The resource is locked; try again.")
DriverError = _make("DriverError", -12, "The warehouse driver failed.")
UnsupportedError = _make("UnsupportedError", -13, "The driver or store lacks the operation.")
UserCallbackError = _make("UserCallbackError", -14, "A host callback failed.")
ABIError = _make("ABIError", -15, "A struct or vtable version the library does not know.")
InternalError = _make("InternalError", -16, "A broken internal invariant in libbackfill.")

_BY_CODE = {cls.code: cls for cls in (
    InvalidError, ParseError, OutOfMemoryError, IOFailure, NotFoundError, ConflictError,
    StateError, LeaseLostError, BlockedError, ValidationError, BusyError, DriverError,
    UnsupportedError, UserCallbackError, ABIError, InternalError)}


def raise_for(code, message):
    cls = _BY_CODE.get(code, BackfillError)
    raise cls(message, code)


def error_for(code, message):
    """The exception for a BF_E_* code, not raised."""
    return _BY_CODE.get(code, BackfillError)(message, code)

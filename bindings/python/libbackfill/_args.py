"""Checking and converting the arguments the binding hands to C.

ctypes converts silently: an int out of a C integer type's range wraps
(2**64 + 1 becomes 1, -1 as a size_t becomes SIZE_MAX), and C reads a string
only up to its first null byte. Every int and string the binding passes to
C goes through one of these instead, which refuse what C would misread."""

import ctypes
import numbers
import operator
import os

# The C integer types the binding passes, by the name the messages use.
_C_INTS = {"int64_t": ctypes.c_int64, "size_t": ctypes.c_size_t,
           "unsigned int": ctypes.c_uint, "int": ctypes.c_int}


def _shown(n):
    """An int for a message; a huge one by its size (str() refuses past 4300 digits)."""
    return str(n) if n.bit_length() <= 128 else "an integer of %d bits" % n.bit_length()


def int_arg(what, value, ctype="int64_t"):
    """`value` (an int, or any object with __index__) as an int that the C
    type `ctype` ("int64_t", "size_t", "unsigned int" or "int") holds unchanged.
    TypeError for anything else; for an unsigned type (a count or a size)
    ValueError for a negative value; OverflowError for any other value out
    of the type's range. `what` names the argument in the message."""
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError("%s must be an integer, not %s" % (what, type(value).__name__)) from None
    bits = 8 * ctypes.sizeof(_C_INTS[ctype])
    signed = _C_INTS[ctype](-1).value < 0
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if n < 0 and not signed:
        raise ValueError("%s must not be negative (it is a C %s); got %s"
                         % (what, ctype, _shown(n)))
    if not lo <= n <= hi:
        raise OverflowError("%s is out of range for %s (%d..%d); got %s"
                            % (what, ctype, lo, hi, _shown(n)))
    return n


def float_arg(what, value):
    """`value` (an int or a float, any real number) as the float a C double
    takes. TypeError for anything else (a str is no number here), and
    OverflowError, naming the argument, for an int too large for a double."""
    if not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number, not %s" % (what, type(value).__name__))
    try:
        return float(value)
    except OverflowError:
        shown = _shown(value) if isinstance(value, int) else repr(value)
        raise OverflowError("%s is too large for a double; got %s" % (what, shown)) from None


def _no_null(what, value):
    """value (str or bytes), refused with a ValueError if it holds a null byte."""
    null = "\0" if isinstance(value, str) else b"\0"
    if null in value:
        raise ValueError("%s holds a null byte at index %d, where C would end it"
                         % (what, value.index(null)))
    return value


def text_arg(what, value):
    """A str as the UTF-8 bytes of a C string, or None for None. TypeError
    for anything else; ValueError for a null byte, where C would end it."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    return _no_null(what, value).encode("utf-8")


def json_arg(what, value, with_length=False):
    """JSON text given as a str (its UTF-8 bytes) or as bytes (a bytearray,
    too), as the bytes C reads. TypeError for anything else: bytes() would
    make five null bytes of 5 and b"{" of [123]. Unless C takes the length
    with the text (with_length), ValueError for a null byte, where C would
    end it; with the length, the library sees it and refuses it at its place."""
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))
    return data if with_length else _no_null(what, data)


def path_arg(path):
    """A file system path (str, bytes or os.PathLike) as the bytes C takes."""
    data = os.fsencode(path)  # TypeError for anything else, like open()
    if b"\0" in data:
        raise ValueError("embedded null byte in path %r" % (path,))
    return data


def instance_arg(what, value, cls):
    """`value`, which must be an instance of `cls` (a Plan, a Brief, a Lease):
    TypeError naming the argument otherwise. A handle of another class would
    reach C as the wrong kind of pointer, and None fail as an AttributeError."""
    if not isinstance(value, cls):
        raise TypeError("%s must be a %s, not %s" % (what, cls.__name__, type(value).__name__))
    return value


def choice(what, value, allowed):
    """The position of `value` in `allowed` (names, in the C enum's order,
    or a dict of name to C value), or a ValueError naming the allowed values."""
    if isinstance(value, str) and value in allowed:
        return allowed[value] if isinstance(allowed, dict) else list(allowed).index(value)
    raise ValueError("%s must be one of %s; not %r"
                     % (what, ", ".join(repr(name) for name in allowed), value))

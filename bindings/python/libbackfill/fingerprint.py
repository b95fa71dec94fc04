"""Order-independent multiset fingerprints of rows (fingerprint.h)."""

import ctypes

from ._args import int_arg, text_arg
from ._native import (VALUE_BLOB, VALUE_INT, VALUE_NULL, VALUE_REAL, VALUE_TEXT,
                      FingerprintStruct, Value, lib)


def _values(row):
    """A row of Python values as a bf_value array; keeps the bytes alive with it."""
    # A string or bytes is one value, not a row of its characters: ("abc") without
    # its comma would otherwise fingerprint the row ("a", "b", "c") in silence.
    if isinstance(row, (str, bytes, bytearray)):
        raise TypeError("a row is a sequence of values, not a %s: write (%r,)"
                        % (type(row).__name__, row))
    values = (Value * len(row))()
    keep = []
    for i, (v, py) in enumerate(zip(values, row)):
        if py is None:
            v.type = VALUE_NULL
        elif isinstance(py, bool):
            raise TypeError("fingerprints have no boolean type; use 0 or 1")
        elif isinstance(py, int):
            v.type, v.i = VALUE_INT, int_arg("row value %d" % i, py, "int64_t")
        elif isinstance(py, float):
            v.type, v.r = VALUE_REAL, py
        elif isinstance(py, (str, bytes, bytearray)):
            data = py.encode("utf-8") if isinstance(py, str) else bytes(py)
            buf = ctypes.create_string_buffer(data, len(data) + 1)
            keep.append(buf)
            v.type = VALUE_TEXT if isinstance(py, str) else VALUE_BLOB
            v.s, v.len = ctypes.cast(buf, ctypes.c_void_p), len(data)
        else:
            raise TypeError("cannot fingerprint a %s" % type(py).__name__)
    return values, keep


class Fingerprint:
    """(rows, sum) over rows of None, int, float, str and bytes values.

    Rows can be added in any order; duplicates count. Equal fingerprints mean
    equal multisets of rows (up to the odds of a 128-bit hash collision)."""

    def __init__(self, rows=()):
        self._fp = FingerprintStruct()
        for row in rows:
            self.add_row(row)

    @classmethod
    def parse(cls, text):
        out = cls()
        lib.bf_fingerprint_parse(ctypes.byref(out._fp), text_arg("fingerprint text", text))
        return out

    def add_row(self, row):
        values, _keep = _values(row)
        lib.bf_fingerprint_add_row(ctypes.byref(self._fp), values, len(row))
        return self

    def remove_row(self, row):
        values, _keep = _values(row)
        lib.bf_fingerprint_remove_row(ctypes.byref(self._fp), values, len(row))
        return self

    @property
    def rows(self):
        return self._fp.rows

    def __add__(self, other):
        if not isinstance(other, Fingerprint):
            return NotImplemented
        out = Fingerprint()
        lib.bf_fingerprint_add(ctypes.byref(out._fp), ctypes.byref(self._fp), ctypes.byref(other._fp))
        return out

    def __sub__(self, other):
        if not isinstance(other, Fingerprint):
            return NotImplemented
        out = Fingerprint()
        lib.bf_fingerprint_sub(ctypes.byref(out._fp), ctypes.byref(self._fp), ctypes.byref(other._fp))
        return out

    def __eq__(self, other):
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return bool(lib.bf_fingerprint_equal(ctypes.byref(self._fp), ctypes.byref(other._fp)))

    def __hash__(self):
        return hash((self._fp.rows, self._fp.hi, self._fp.lo))

    def __str__(self):
        buf = ctypes.create_string_buffer(64)
        lib.bf_fingerprint_format(buf, len(buf), ctypes.byref(self._fp))
        return buf.value.decode("ascii")

    def __repr__(self):
        return "<Fingerprint %s>" % self

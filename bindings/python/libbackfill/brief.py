"""Briefs (brief.h): loaded from a file or JSON text, for the runner and the reports."""

import ctypes

from ._args import json_arg, path_arg
from ._handle import Handle
from ._native import lib, take_string


class Brief(Handle):
    """A backfill brief (docs/brief.md), checked as the library loads it: a
    syntax error raises ParseError ("line:column: ..."), a wrong field
    InvalidError ("$.path: ...")."""

    _free = staticmethod(lib.bf_brief_free)

    @classmethod
    def from_file(cls, path):
        """Load the brief in the file at `path` (str, bytes or os.PathLike)."""
        cpath = path_arg(path)
        out = ctypes.c_void_p()
        lib.bf_brief_load_file(ctypes.byref(out), cpath)
        return cls(out)

    @classmethod
    def from_json(cls, text):
        """Load a brief from its JSON text (str or bytes)."""
        # The length goes with the text, so a null byte in it reaches the
        # library, which refuses it as a ParseError at its place.
        data = json_arg("brief JSON", text, with_length=True)
        out = ctypes.c_void_p()
        lib.bf_brief_load_json(ctypes.byref(out), data, len(data))
        return cls(out)

    @property
    def name(self):
        return lib.bf_brief_name(self._handle()).decode("utf-8")

    def to_json(self):
        """The brief as JSON text, as the library writes it."""
        out = ctypes.c_void_p()
        lib.bf_brief_save_json(ctypes.byref(out), self._handle())
        return take_string(out)

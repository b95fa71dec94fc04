"""Plans and batches (plan.h)."""

import ctypes

from ._handle import Handle
from ._native import Value, lib, take_string, value_to_python


class Batch:
    """One batch of a plan; valid while its plan is open."""

    def __init__(self, plan, handle):
        self._plan = plan  # keeps the plan, which owns the batch, alive
        self._h = handle

    @property
    def ordinal(self):
        return lib.bf_batch_ordinal(self._h)

    @property
    def label(self):
        return lib.bf_batch_label(self._h).decode("utf-8")

    @property
    def lo(self):
        return lib.bf_batch_lo(self._h)

    @property
    def hi(self):
        return lib.bf_batch_hi(self._h)

    @property
    def params(self):
        """The bound parameters as a dict, in the order they are bound."""
        out = {}
        for i in range(lib.bf_batch_param_count(self._h)):
            v = Value()
            lib.bf_batch_param_at(ctypes.byref(v), self._h, i)
            out[lib.bf_batch_param_name(self._h, i).decode("utf-8")] = value_to_python(v)
        return out

    def __repr__(self):
        return "<Batch %d %s>" % (self.ordinal, self.label)


class Plan(Handle):
    """An immutable, ordered list of batches pinned by a fingerprint."""

    _free = staticmethod(lib.bf_plan_free)

    @classmethod
    def from_json(cls, text):
        out = ctypes.c_void_p()
        lib.bf_plan_from_json(ctypes.byref(out), text.encode("utf-8"))
        return cls(out)

    def to_json(self):
        out = ctypes.c_void_p()
        lib.bf_plan_to_json(ctypes.byref(out), self._handle())
        return take_string(out)

    @property
    def fingerprint(self):
        return lib.bf_plan_fingerprint(self._handle()).decode("ascii")

    @property
    def dimension(self):
        return lib.bf_dimension_name(lib.bf_plan_dimension(self._handle())).decode("ascii")

    @property
    def column(self):
        return lib.bf_plan_column(self._handle()).decode("utf-8")

    def __len__(self):
        return lib.bf_plan_count(self._handle())

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("plan has %d batches" % len(self))
        return Batch(self, lib.bf_plan_batch(self._handle(), index))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

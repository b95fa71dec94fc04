"""Plans and batches (plan.h)."""

import ctypes

from ._args import instance_arg, json_arg, path_arg
from ._handle import Handle
from ._native import Value, lib, take_string, value_to_python
from .brief import Brief


class Batch:
    """One batch of a plan, copied out of it: it stays readable after the plan
    is closed."""

    __slots__ = ("ordinal", "label", "lo", "hi", "params")

    def __init__(self, ordinal, label, lo, hi, params):
        self.ordinal = ordinal
        self.label = label
        self.lo = lo
        self.hi = hi
        self.params = params  # the bound parameters as a dict, in the order they are bound

    @classmethod
    def _copy(cls, handle):
        """Read everything out of a bf_batch now: it lives only as long as its plan."""
        params = {}
        for i in range(lib.bf_batch_param_count(handle)):
            v = Value()
            lib.bf_batch_param_at(ctypes.byref(v), handle, i)
            params[lib.bf_batch_param_name(handle, i).decode("utf-8")] = value_to_python(v)
        return cls(lib.bf_batch_ordinal(handle), lib.bf_batch_label(handle).decode("utf-8"),
                   lib.bf_batch_lo(handle), lib.bf_batch_hi(handle), params)

    def __repr__(self):
        return "<Batch %d %s>" % (self.ordinal, self.label)


class Plan(Handle):
    """An immutable, ordered list of batches pinned by a fingerprint."""

    _free = staticmethod(lib.bf_plan_free)

    @classmethod
    def from_json(cls, text):
        """Read a plan from its JSON text (str or bytes), as to_json() or
        `backfill plan BRIEF --json` writes it."""
        data = json_arg("plan JSON", text)
        out = ctypes.c_void_p()
        lib.bf_plan_from_json(ctypes.byref(out), data)
        return cls(out)

    @classmethod
    def from_brief(cls, brief, warehouse=None):
        """The Brief's pinned plan, as `backfill plan BRIEF [--warehouse DB]`
        and the runner make it. With `warehouse`, the path of a SQLite
        warehouse (which must exist; nothing is written): every name the
        brief gives is checked against it (InvalidError naming the JSON
        path) and a rows_per_batch brief's key boundaries are read from it.
        Without, from the brief alone; a rows_per_batch brief needs the
        warehouse (InvalidError)."""
        cbrief = instance_arg("brief", brief, Brief)._handle()
        out = ctypes.c_void_p()
        if warehouse is not None:
            driver = ctypes.c_void_p()
            lib.bf_driver_open_sqlite(ctypes.byref(driver), path_arg(warehouse), 0)
            try:
                lib.bf_driver_plan_brief(ctypes.byref(out), driver, cbrief)
            finally:
                lib.bf_driver_free(driver)
            return cls(out)
        planner = ctypes.c_void_p()
        lib.bf_planner_new_from_brief(ctypes.byref(planner), cbrief)
        try:
            lib.bf_planner_plan(ctypes.byref(out), planner)
            plan = cls(out)
            try:
                lib.bf_plan_verify(plan._handle(), planner)  # the coverage proof, as the CLI's
            except BaseException:
                plan.close()
                raise
            return plan
        finally:
            lib.bf_planner_free(planner)

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
        return Batch._copy(lib.bf_plan_batch(self._handle(), index))

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

"""Reports (report.h): the announcement, the maintenance notice and the change note."""

import ctypes

from ._args import choice, instance_arg, path_arg, text_arg
from ._native import lib, take_string
from .brief import Brief

STAGES = {"before": 1, "during": 2, "after": 3}
FORMATS = {"markdown": 1, "json": 2}


def report_run(ledger, run, stage="after", format="markdown"):
    """The report of a run at `stage` ("before", "during" or "after"), as
    Markdown or JSON text ("markdown" or "json"), read from the ledger only.

    `ledger` is a Ledger or the path of a ledger file (which must exist);
    `run` a run id or a brief name (its latest run)."""
    from .ledger import Ledger  # the ledger module does not need this one

    cstage = choice("stage", stage, STAGES)
    cformat = choice("format", format, FORMATS)
    cref = text_arg("run", str(run))
    if isinstance(ledger, Ledger):
        return _report_run(ledger, cref, cstage, cformat)
    try:
        path_arg(ledger)  # a TypeError or ValueError before anything is opened
    except TypeError:
        raise TypeError("ledger must be a Ledger or a path (str, bytes or os.PathLike), not %s"
                        % type(ledger).__name__) from None
    with Ledger(ledger, must_exist=True) as opened:
        return _report_run(opened, cref, cstage, cformat)


def _report_run(ledger, cref, stage, format):
    run_id = ctypes.c_int64()
    lib.bf_ledger_find_run(ctypes.byref(run_id), ledger._handle(), cref)
    out = ctypes.c_void_p()
    lib.bf_report_run(ctypes.byref(out), ledger._handle(), run_id.value, stage, format)
    return take_string(out)


def report_brief(brief, stage="before", format="markdown"):
    """The announcement from a Brief alone, before any run exists; only the
    "before" stage (InvalidError from the library otherwise)."""
    cstage = choice("stage", stage, STAGES)
    cformat = choice("format", format, FORMATS)
    out = ctypes.c_void_p()
    lib.bf_report_brief(ctypes.byref(out), instance_arg("brief", brief, Brief)._handle(), cstage,
                        cformat)
    return take_string(out)

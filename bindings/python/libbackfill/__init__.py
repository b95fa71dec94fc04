"""Python binding of libbackfill through ctypes.

    import libbackfill
    libbackfill.version()              # "0.1.0"
    with libbackfill.Plan.from_json(text) as plan:
        for batch in plan:
            print(batch.label, batch.params)

    with libbackfill.Ledger("ledger.db") as ledger:
        run = ledger.start_run(plan, "my-backfill", max_concurrency=2)
        lease = run.claim()                # None when nothing can be claimed now
        ...                                # do the batch's work
        run.complete(lease, rows_written=n)

    with libbackfill.Brief.from_file("brief.json") as brief, \
            libbackfill.Runner("ledger.db", "warehouse.db", on_event=print) as runner:
        runner.set_brief(brief)
        run_id = runner.run()              # the run awaits approval
    libbackfill.report_run("ledger.db", run_id, "after")

Failures raise subclasses of libbackfill.BackfillError carrying the BF_E_*
code and the library's message.
"""

from ._args import int_arg as _int_arg
from ._native import lib as _lib
from .errors import (ABIError, BackfillError, BlockedError, BusyError, ConflictError,
                     DriverError, InternalError, InvalidError, IOFailure, LeaseLostError,
                     NotFoundError, OutOfMemoryError, ParseError, StateError, UnsupportedError,
                     UserCallbackError, ValidationError)
from .brief import Brief
from .fingerprint import Fingerprint
from .ledger import BatchRecord, EventRecord, Lease, Ledger, Run, RunRecord
from .plan import Batch, Plan
from .report import report_brief, report_run
from .runner import Runner

__all__ = [
    "ABIError", "BackfillError", "Batch", "BatchRecord", "BlockedError", "Brief", "BusyError", "ConflictError",
    "DriverError", "EventRecord", "Fingerprint", "IOFailure", "InternalError", "InvalidError", "Lease",
    "LeaseLostError", "Ledger", "NotFoundError", "OutOfMemoryError", "ParseError", "Plan", "Run", "RunRecord", "Runner", "StateError",
    "UnsupportedError", "UserCallbackError", "ValidationError", "errstr", "report_brief",
    "report_run", "version",
    "version_number",
]


def version():
    """The linked library's version, e.g. "0.1.0"."""
    return _lib.bf_version_string().decode("ascii")


def version_number():
    """The linked library's BF_VERSION_NUMBER (0.1.0 is 100)."""
    return _lib.bf_version()


def errstr(code):
    """The symbolic name of a BF_* status code ("BF_E_UNKNOWN" for a code the
    library does not know). A code out of the range of a C int raises
    OverflowError, as for every C integer argument: ctypes would pass its low
    bits, another code."""
    return _lib.bf_errstr(_int_arg("code", code, "int")).decode("ascii")

"""Loading libbackfill and declaring the C functions the binding calls.

Only the standard library's ctypes is used, so any Python 3 can use the
binding with nothing to install but libbackfill itself.
"""

import ctypes
import ctypes.util
import os

from .errors import raise_for


def _load():
    path = os.environ.get("BACKFILL_LIBRARY")
    candidates = [path] if path else []
    found = ctypes.util.find_library("backfill")
    if found:
        candidates.append(found)
    candidates.append("libbackfill.so.0")
    last = None
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError as exc:
            last = exc
    raise ImportError(
        "libbackfill: cannot load the shared library (tried %s; set BACKFILL_LIBRARY "
        "to its path): %s" % (", ".join(candidates), last))


lib = _load()


class Value(ctypes.Structure):
    """struct bf_value"""

    _fields_ = [
        ("type", ctypes.c_int),
        ("i", ctypes.c_int64),
        ("r", ctypes.c_double),
        ("s", ctypes.c_void_p),
        ("len", ctypes.c_size_t),
    ]


VALUE_NULL, VALUE_INT, VALUE_REAL, VALUE_TEXT, VALUE_BLOB = range(5)


def value_to_python(v):
    if v.type == VALUE_INT:
        return v.i
    if v.type == VALUE_REAL:
        return v.r
    if v.type == VALUE_TEXT:
        return ctypes.string_at(v.s, v.len).decode("utf-8")
    if v.type == VALUE_BLOB:
        return ctypes.string_at(v.s, v.len)
    return None


def _status(result, func, args):
    """errcheck for functions returning a BF_* status: raise on failure."""
    if result != 0:
        raise_for(result, lib.bf_last_error().decode("utf-8", "replace"))
    return result


def _declare(name, restype, argtypes, status=False):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = argtypes
    if status:
        fn.errcheck = _status
    return fn


c_char_pp = ctypes.POINTER(ctypes.c_char_p)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)

# common.h
_declare("bf_errstr", ctypes.c_char_p, [ctypes.c_int])
_declare("bf_errdesc", ctypes.c_char_p, [ctypes.c_int])
_declare("bf_last_error", ctypes.c_char_p, [])
_declare("bf_last_error_code", ctypes.c_int, [])
_declare("bf_clear_error", None, [])
_declare("bf_free", None, [ctypes.c_void_p])
_declare("bf_version", ctypes.c_uint, [])
_declare("bf_version_string", ctypes.c_char_p, [])

# plan.h
_declare("bf_dimension_name", ctypes.c_char_p, [ctypes.c_int])
_declare("bf_plan_free", None, [ctypes.c_void_p])
_declare("bf_plan_count", ctypes.c_size_t, [ctypes.c_void_p])
_declare("bf_plan_batch", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t])
_declare("bf_plan_dimension", ctypes.c_int, [ctypes.c_void_p])
_declare("bf_plan_column", ctypes.c_char_p, [ctypes.c_void_p])
_declare("bf_plan_fingerprint", ctypes.c_char_p, [ctypes.c_void_p])
_declare("bf_plan_to_json", ctypes.c_int, [c_void_pp, ctypes.c_void_p], status=True)
_declare("bf_plan_from_json", ctypes.c_int, [c_void_pp, ctypes.c_char_p], status=True)
_declare("bf_batch_ordinal", ctypes.c_size_t, [ctypes.c_void_p])
_declare("bf_batch_dimension", ctypes.c_int, [ctypes.c_void_p])
_declare("bf_batch_label", ctypes.c_char_p, [ctypes.c_void_p])
_declare("bf_batch_lo", ctypes.c_int64, [ctypes.c_void_p])
_declare("bf_batch_hi", ctypes.c_int64, [ctypes.c_void_p])
_declare("bf_batch_param_count", ctypes.c_size_t, [ctypes.c_void_p])
_declare("bf_batch_param_name", ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_size_t])
_declare("bf_batch_param_at", ctypes.c_int,
         [ctypes.POINTER(Value), ctypes.c_void_p, ctypes.c_size_t], status=True)
# the planner, from a brief only
_declare("bf_planner_new_from_brief", ctypes.c_int, [c_void_pp, ctypes.c_void_p], status=True)
_declare("bf_planner_free", None, [ctypes.c_void_p])
_declare("bf_planner_plan", ctypes.c_int, [c_void_pp, ctypes.c_void_p], status=True)
_declare("bf_plan_verify", ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p], status=True)


# fingerprint.h
class FingerprintStruct(ctypes.Structure):
    """struct bf_fingerprint"""

    _fields_ = [("rows", ctypes.c_uint64), ("hi", ctypes.c_uint64), ("lo", ctypes.c_uint64)]


_fp = ctypes.POINTER(FingerprintStruct)
_declare("bf_fingerprint_add_row", ctypes.c_int, [_fp, ctypes.POINTER(Value), ctypes.c_size_t],
         status=True)
_declare("bf_fingerprint_remove_row", ctypes.c_int, [_fp, ctypes.POINTER(Value), ctypes.c_size_t],
         status=True)
_declare("bf_fingerprint_add", None, [_fp, _fp, _fp])
_declare("bf_fingerprint_sub", None, [_fp, _fp, _fp])
_declare("bf_fingerprint_equal", ctypes.c_int, [_fp, _fp])
_declare("bf_fingerprint_format", ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, _fp],
         status=True)
_declare("bf_fingerprint_parse", ctypes.c_int, [_fp, ctypes.c_char_p], status=True)


# ledger.h
CLOCK_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)


class LedgerOptions(ctypes.Structure):
    """struct bf_ledger_options, version 1"""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("durability", ctypes.c_int),
        ("busy_timeout_ms", ctypes.c_int),
        ("clock", CLOCK_FN),
        ("clock_userdata", ctypes.c_void_p),
        ("actor", ctypes.c_char_p),
        ("store", ctypes.c_void_p),
        ("flags", ctypes.c_uint),
    ]


class RunSpec(ctypes.Structure):
    """struct bf_run_spec, version 1"""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("brief_name", ctypes.c_char_p),
        ("brief_json", ctypes.c_char_p),
        ("code_version", ctypes.c_char_p),
        ("operator_name", ctypes.c_char_p),
        ("params_json", ctypes.c_char_p),
        ("max_concurrency", ctypes.c_uint),
        ("max_attempts", ctypes.c_uint),
        ("retry_backoff_s", ctypes.c_double),
        ("lease_s", ctypes.c_double),
        ("flags", ctypes.c_uint),
    ]


class BatchResult(ctypes.Structure):
    """struct bf_batch_result, version 1"""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("rows_written", ctypes.c_int64),
        ("rows_deleted", ctypes.c_int64),
        ("fingerprint_before", ctypes.c_char_p),
        ("fingerprint_after", ctypes.c_char_p),
        ("duration_s", ctypes.c_double),
        ("idempotency_key", ctypes.c_char_p),
    ]


class Progress(ctypes.Structure):
    """struct bf_progress, version 1"""

    _fields_ = [("version", ctypes.c_uint), ("state", ctypes.c_int)] + [
        (name, ctypes.c_int64) for name in (
            "total", "pending", "running", "completed", "validated", "failed", "cancelled",
            "rolled_back", "split", "rows_written", "rows_deleted")
    ] + [("elapsed_s", ctypes.c_double), ("eta_s", ctypes.c_double)]


_vp, _i64, _u = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint
_declare("bf_ledger_options_init", ctypes.c_int, [ctypes.POINTER(LedgerOptions), _u], status=True)
_declare("bf_run_spec_init", ctypes.c_int, [ctypes.POINTER(RunSpec), _u], status=True)
_declare("bf_batch_result_init", ctypes.c_int, [ctypes.POINTER(BatchResult), _u], status=True)
_declare("bf_progress_init", ctypes.c_int, [ctypes.POINTER(Progress), _u], status=True)
_declare("bf_ledger_open", ctypes.c_int, [c_void_pp, ctypes.c_char_p, ctypes.POINTER(LedgerOptions)],
         status=True)
_declare("bf_ledger_close", None, [_vp])
_declare("bf_ledger_path", ctypes.c_char_p, [_vp])
_declare("bf_ledger_find_run", ctypes.c_int, [ctypes.POINTER(_i64), _vp, ctypes.c_char_p],
         status=True)
_declare("bf_ledger_runs_json", ctypes.c_int, [c_void_pp, _vp], status=True)
_declare("bf_run_start", ctypes.c_int, [c_void_pp, _vp, ctypes.POINTER(RunSpec), _vp], status=True)
_declare("bf_run_open", ctypes.c_int, [c_void_pp, _vp, _i64], status=True)
_declare("bf_run_free", None, [_vp])
_declare("bf_run_id", _i64, [_vp])
_declare("bf_run_seq", _i64, [_vp])
_declare("bf_run_brief_name", ctypes.c_char_p, [_vp])
_declare("bf_run_plan_fingerprint", ctypes.c_char_p, [_vp])
_declare("bf_run_current_state", ctypes.c_int, [_vp])
_declare("bf_run_state_name", ctypes.c_char_p, [ctypes.c_int])
_declare("bf_run_refresh", ctypes.c_int, [_vp], status=True)
for _name in ("bf_run_pause", "bf_run_resume", "bf_run_cancel", "bf_run_finish"):
    _declare(_name, ctypes.c_int, [_vp, ctypes.c_char_p], status=True)
_declare("bf_run_retry", ctypes.c_int, [ctypes.POINTER(ctypes.c_size_t), _vp, _u], status=True)
_declare("bf_run_note", ctypes.c_int, [_vp, ctypes.c_char_p], status=True)
_declare("bf_run_claim", ctypes.c_int, [c_void_pp, _vp], status=True)
_declare("bf_lease_free", None, [_vp])
for _name in ("bf_lease_batch_id", "bf_lease_ordinal", "bf_lease_lo", "bf_lease_hi",
              "bf_lease_token", "bf_lease_attempt", "bf_lease_expires_at"):
    _declare(_name, _i64, [_vp])
_declare("bf_lease_label", ctypes.c_char_p, [_vp])
_declare("bf_lease_params_json", ctypes.c_char_p, [_vp])
_declare("bf_lease_dimension", ctypes.c_int, [_vp])
_declare("bf_run_heartbeat", ctypes.c_int, [_vp, _i64, _i64], status=True)
_declare("bf_run_complete", ctypes.c_int, [_vp, _i64, _i64, ctypes.POINTER(BatchResult)],
         status=True)
_declare("bf_run_fail", ctypes.c_int, [_vp, _i64, _i64, ctypes.c_char_p], status=True)
_declare("bf_run_progress", ctypes.c_int, [ctypes.POINTER(Progress), _vp], status=True)
_declare("bf_run_batches_json", ctypes.c_int, [c_void_pp, _vp, ctypes.c_int], status=True)
_declare("bf_run_events_json", ctypes.c_int, [c_void_pp, _vp], status=True)

# Typed listings: each accessor takes (listing, index).
_sz = ctypes.c_size_t
_declare("bf_ledger_runs", ctypes.c_int, [c_void_pp, _vp, ctypes.c_char_p], status=True)
_declare("bf_run_batches", ctypes.c_int, [c_void_pp, _vp, ctypes.c_int], status=True)
_declare("bf_run_events", ctypes.c_int, [c_void_pp, _vp], status=True)
LISTING_TEXT = {
    "run": ("brief_name", "plan_fingerprint", "column", "code_version", "operator",
            "params_json", "brief_json"),
    "batch": ("label", "params_json", "worker", "fingerprint_before", "fingerprint_after",
              "idempotency_key", "error"),
    "event": ("subject", "from", "to", "actor", "detail"),
}
LISTING_INT = {
    "run": ("id", "seq", "max_concurrency", "max_attempts", "retry_backoff_us", "lease_us",
            "batch_count", "created_at", "started_at", "updated_at", "finished_at"),
    "batch": ("id", "ordinal", "parent_id", "lo", "hi", "token", "attempt", "lease_until",
              "not_before", "started_at", "finished_at", "duration_us", "rows_written",
              "rows_deleted"),
    "event": ("seq", "batch_id", "at"),
}
LISTING_STATE = {"run": ("state", "dimension"), "batch": ("state", "dimension"),
                 "event": ("from_state", "to_state")}
for _kind in ("run", "batch", "event"):
    _declare("bf_%s_list_free" % _kind, None, [_vp])
    _declare("bf_%s_list_count" % _kind, _sz, [_vp])
    for _name in LISTING_TEXT[_kind]:
        _declare("bf_%s_list_%s" % (_kind, _name), ctypes.c_char_p, [_vp, _sz])
    for _name in LISTING_INT[_kind]:
        _declare("bf_%s_list_%s" % (_kind, _name), _i64, [_vp, _sz])
    for _name in LISTING_STATE[_kind]:
        _declare("bf_%s_list_%s" % (_kind, _name), ctypes.c_int, [_vp, _sz])


def take_string(ptr):
    """Copy a library-allocated C string into Python and free it with bf_free."""
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.bf_free(ptr)


# brief.h: only what the runner and the reports need.
_declare("bf_brief_load_json", ctypes.c_int, [c_void_pp, ctypes.c_char_p, ctypes.c_size_t],
         status=True)
_declare("bf_brief_load_file", ctypes.c_int, [c_void_pp, ctypes.c_char_p], status=True)
_declare("bf_brief_free", None, [_vp])
_declare("bf_brief_name", ctypes.c_char_p, [_vp])
_declare("bf_brief_save_json", ctypes.c_int, [c_void_pp, _vp], status=True)

# driver.h: only planning a brief against a SQLite warehouse.
_declare("bf_driver_open_sqlite", ctypes.c_int, [c_void_pp, ctypes.c_char_p, ctypes.c_uint],
         status=True)
_declare("bf_driver_free", None, [_vp])
_declare("bf_driver_plan_brief", ctypes.c_int, [c_void_pp, _vp, _vp], status=True)


# runner.h
class RunEventStruct(ctypes.Structure):
    """struct bf_run_event, version 1"""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("kind", ctypes.c_int),
        ("run_id", ctypes.c_int64),
        ("batch_id", ctypes.c_int64),
        ("batch_label", ctypes.c_char_p),
        ("rows_written", ctypes.c_int64),
        ("rows_deleted", ctypes.c_int64),
        ("duration_s", ctypes.c_double),
        ("progress", ctypes.POINTER(Progress)),
        ("message", ctypes.c_char_p),
        ("json", ctypes.c_char_p),
    ]


RUN_EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(RunEventStruct))


class RunnerOptions(ctypes.Structure):
    """struct bf_runner_options, version 1"""

    _fields_ = [
        ("version", ctypes.c_uint),
        ("ledger_path", ctypes.c_char_p),
        ("ledger_options", ctypes.POINTER(LedgerOptions)),
        ("warehouse_path", ctypes.c_char_p),
        ("open_driver", ctypes.c_void_p),
        ("driver_userdata", ctypes.c_void_p),
        ("workers", ctypes.c_uint),
        ("scheduler", ctypes.c_void_p),
        ("scheduler_userdata", ctypes.c_void_p),
        ("on_event", RUN_EVENT_FN),
        ("event_userdata", ctypes.c_void_p),
        ("throttle", ctypes.c_void_p),
        ("throttle_userdata", ctypes.c_void_p),
        ("poll_s", ctypes.c_double),
        ("operator_name", ctypes.c_char_p),
        ("flags", ctypes.c_uint),
        ("target_batch_s", ctypes.c_double),
    ]


_declare("bf_run_event_name", ctypes.c_char_p, [ctypes.c_int])
_declare("bf_runner_options_init", ctypes.c_int, [ctypes.POINTER(RunnerOptions), _u], status=True)
_declare("bf_runner_new", ctypes.c_int, [c_void_pp, ctypes.POINTER(RunnerOptions)], status=True)
_declare("bf_runner_free", None, [_vp])
_declare("bf_runner_last_error", ctypes.c_char_p, [_vp])
# The runner's calls report failures through bf_runner_last_error: the binding checks them itself.
_declare("bf_runner_set_brief", ctypes.c_int, [_vp, _vp])
_declare("bf_runner_run", ctypes.c_int, [_vp, ctypes.POINTER(_i64)])
_declare("bf_runner_stop", None, [_vp])
_declare("bf_runner_test_slice", ctypes.c_int, [c_void_pp, _vp, _sz])
_declare("bf_runner_approve", ctypes.c_int, [_vp, _i64, ctypes.c_char_p])
_declare("bf_runner_rollback", ctypes.c_int, [c_void_pp, _vp, _i64, _i64])
_declare("bf_runner_cleanup", ctypes.c_int, [c_void_pp, _vp, _i64])

# report.h
_declare("bf_report_run", ctypes.c_int, [c_void_pp, _vp, _i64, ctypes.c_int, ctypes.c_int],
         status=True)
_declare("bf_report_brief", ctypes.c_int, [c_void_pp, _vp, ctypes.c_int, ctypes.c_int],
         status=True)

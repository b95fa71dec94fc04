"""The durable batch ledger (ledger.h): runs, claims with leases and fencing
tokens, completions, failures and retries, progress and the audit log."""

import ctypes
import json
import os
import weakref

from ._args import choice, path_arg
from ._handle import Handle as _Handle
from ._native import (CLOCK_FN, BatchResult, LedgerOptions, Progress, RunSpec, lib,
                      take_string)

DURABILITY = {"full": 0, "normal": 1}
RUN_STATES = ("planned", "running", "paused", "cancelled", "failed", "validating",
              "awaiting_approval", "approved", "completed", "rolled_back")
BATCH_STATES = ("pending", "running", "completed", "validated", "failed", "cancelled",
                "rolled_back", "split")
_MUST_EXIST, _RUN_NEW, _RETRY_SPLIT = 1, 1, 1


def _text(value):
    return None if value is None else value.encode("utf-8")


def _json_out(fn, *args):
    out = ctypes.c_void_p()
    fn(ctypes.byref(out), *args)
    return json.loads(take_string(out))


class Ledger(_Handle):
    """A ledger file, created when absent (unless must_exist). `path` is a str,
    bytes or os.PathLike; `durability` is "full" or "normal".

    `clock`, for tests, is a callable returning the time in UTC microseconds;
    it must not raise."""

    _free = staticmethod(lib.bf_ledger_close)

    def __init__(self, path, durability="full", must_exist=False, actor=None, clock=None,
                 busy_timeout_ms=0):
        cpath = path_arg(path)
        opts = LedgerOptions()
        lib.bf_ledger_options_init(ctypes.byref(opts), 1)
        opts.durability = choice("durability", durability, DURABILITY)
        opts.busy_timeout_ms = busy_timeout_ms
        opts.flags = _MUST_EXIST if must_exist else 0
        self._actor = _text(actor)
        opts.actor = self._actor
        # The C clock must outlive the ledger, so the binding keeps it.
        self._clock = CLOCK_FN(lambda _userdata: int(clock())) if clock else None
        if self._clock:
            opts.clock = self._clock
        self._runs = weakref.WeakSet()
        out = ctypes.c_void_p()
        lib.bf_ledger_open(ctypes.byref(out), cpath, ctypes.byref(opts))
        super().__init__(out)

    def close(self):
        """Close the ledger and every run opened through it."""
        for run in list(getattr(self, "_runs", ())):
            if run._h:
                run._closed_by = "its ledger was closed"
            run.close()
        super().close()

    @property
    def path(self):
        """The path the ledger was opened with, as a str."""
        return os.fsdecode(lib.bf_ledger_path(self._handle()))

    def runs(self):
        """Every run as a dict (fields in docs/ledger.md)."""
        return _json_out(lib.bf_ledger_runs_json, self._handle())

    def start_run(self, plan, brief_name, brief_json=None, code_version=None, operator=None,
                  params=None, max_concurrency=1, max_attempts=3, retry_backoff_s=5.0,
                  lease_s=300.0, new=False):
        """Start the brief's run on `plan`, or resume its unfinished run.

        A different plan for an unfinished run raises ConflictError unless
        new=True (the unfinished run is then cancelled)."""
        spec = RunSpec()
        lib.bf_run_spec_init(ctypes.byref(spec), 1)
        keep = [_text(brief_name), _text(brief_json), _text(code_version), _text(operator),
                _text(json.dumps(params) if params is not None else None)]
        (spec.brief_name, spec.brief_json, spec.code_version, spec.operator_name,
         spec.params_json) = keep
        spec.max_concurrency = max_concurrency
        spec.max_attempts = max_attempts
        spec.retry_backoff_s = retry_backoff_s
        spec.lease_s = lease_s
        spec.flags = _RUN_NEW if new else 0
        out = ctypes.c_void_p()
        lib.bf_run_start(ctypes.byref(out), self._handle(), ctypes.byref(spec), plan._handle())
        return Run(self, out)

    def run(self, ref):
        """Open a run by id or by brief name (its latest run)."""
        run_id = ctypes.c_int64()
        lib.bf_ledger_find_run(ctypes.byref(run_id), self._handle(), str(ref).encode("utf-8"))
        out = ctypes.c_void_p()
        lib.bf_run_open(ctypes.byref(out), self._handle(), run_id.value)
        return Run(self, out)


class Lease:
    """A claimed batch: work on it, then complete or fail it with its token."""

    def __init__(self, handle):
        try:
            self.batch_id = lib.bf_lease_batch_id(handle)
            self.ordinal = lib.bf_lease_ordinal(handle)
            self.label = lib.bf_lease_label(handle).decode("utf-8")
            self.lo = lib.bf_lease_lo(handle)
            self.hi = lib.bf_lease_hi(handle)
            self.params = json.loads(lib.bf_lease_params_json(handle).decode("utf-8"))
            self.token = lib.bf_lease_token(handle)
            self.attempt = lib.bf_lease_attempt(handle)
            self.expires_at = lib.bf_lease_expires_at(handle)
        finally:
            lib.bf_lease_free(handle)

    def __repr__(self):
        return "<Lease batch %d %s token %d>" % (self.batch_id, self.label, self.token)


class Run(_Handle):
    _free = staticmethod(lib.bf_run_free)

    def __init__(self, ledger, handle):
        super().__init__(handle)
        self._ledger = ledger  # the run's handle needs its ledger open
        ledger._runs.add(self)

    @property
    def id(self):
        return lib.bf_run_id(self._handle())

    @property
    def seq(self):
        return lib.bf_run_seq(self._handle())

    @property
    def brief_name(self):
        return lib.bf_run_brief_name(self._handle()).decode("utf-8")

    @property
    def plan_fingerprint(self):
        return lib.bf_run_plan_fingerprint(self._handle()).decode("ascii")

    @property
    def state(self):
        """The state as last read; refresh() reads it again."""
        return RUN_STATES[lib.bf_run_current_state(self._handle())]

    def refresh(self):
        lib.bf_run_refresh(self._handle())
        return self.state

    def pause(self, detail=None):
        lib.bf_run_pause(self._handle(), _text(detail))

    def resume(self, detail=None):
        lib.bf_run_resume(self._handle(), _text(detail))

    def cancel(self, detail=None):
        lib.bf_run_cancel(self._handle(), _text(detail))

    def finish(self, detail=None):
        """Mark the run completed once every batch is completed, validated or cancelled.

        For a host that tracks its own batches: the last completion does not
        finish the run by itself. Raises StateError, counting the batches
        left by state, while some are not done, and for a run that is not
        planned, running or approved (one being approved finishes once
        approved)."""
        lib.bf_run_finish(self._handle(), _text(detail))

    def retry(self, split=False):
        """Failed batches back to pending; returns how many."""
        n = ctypes.c_size_t()
        lib.bf_run_retry(ctypes.byref(n), self._handle(), _RETRY_SPLIT if split else 0)
        return n.value

    def note(self, text):
        lib.bf_run_note(self._handle(), _text(text))

    def claim(self):
        """The next batch in plan order, or None when none can be claimed now."""
        out = ctypes.c_void_p()
        lib.bf_run_claim(ctypes.byref(out), self._handle())
        return Lease(out) if out.value else None

    def heartbeat(self, lease):
        lib.bf_run_heartbeat(self._handle(), lease.batch_id, lease.token)

    def complete(self, lease, rows_written=0, rows_deleted=0, fingerprint_before=None,
                 fingerprint_after=None, duration_s=0.0, idempotency_key=None):
        result = BatchResult()
        lib.bf_batch_result_init(ctypes.byref(result), 1)
        result.rows_written, result.rows_deleted = rows_written, rows_deleted
        result.fingerprint_before = _text(None if fingerprint_before is None
                                          else str(fingerprint_before))
        result.fingerprint_after = _text(None if fingerprint_after is None
                                         else str(fingerprint_after))
        result.duration_s = duration_s
        result.idempotency_key = _text(idempotency_key)
        lib.bf_run_complete(self._handle(), lease.batch_id, lease.token, ctypes.byref(result))

    def fail(self, lease, message):
        lib.bf_run_fail(self._handle(), lease.batch_id, lease.token, _text(message))

    def progress(self):
        """Counts by state, rows, elapsed and ETA (seconds; None when unknown)."""
        p = Progress()
        lib.bf_progress_init(ctypes.byref(p), 1)
        lib.bf_run_progress(ctypes.byref(p), self._handle())
        out = {name: getattr(p, name) for name, _ in Progress._fields_[2:]}
        out["state"] = RUN_STATES[p.state]
        out["eta_s"] = None if p.eta_s < 0 else p.eta_s
        return out

    def batches(self, state=None):
        """The run's batches in plan order (all, or those in `state`, one of
        BATCH_STATES), as dicts."""
        code = -1 if state is None else choice("batch state", state, BATCH_STATES)
        return _json_out(lib.bf_run_batches_json, self._handle(), code)

    def events(self):
        """The run's audit log, oldest first, as dicts."""
        return _json_out(lib.bf_run_events_json, self._handle())

"""The durable batch ledger (ledger.h): runs, claims with leases and fencing
tokens, completions, failures and retries, progress and the audit log."""

import ctypes
import dataclasses
import json
import os
import threading
import weakref

from ._args import choice, float_arg, instance_arg, int_arg, path_arg, text_arg
from ._handle import Handle as _Handle, serialized as _serialized
from ._native import CLOCK_FN, BatchResult, LedgerOptions, Progress, RunSpec, lib
from .plan import Plan

DURABILITY = {"full": 0, "normal": 1}
RUN_STATES = ("planned", "running", "paused", "cancelled", "failed", "validating",
              "awaiting_approval", "approved", "completed", "rolled_back")
BATCH_STATES = ("pending", "running", "completed", "validated", "failed", "cancelled",
                "rolled_back", "split")
_MUST_EXIST, _RUN_NEW, _RETRY_SPLIT = 1, 1, 1


def _name(names, value):
    return names[value] if 0 <= value < len(names) else None


def _embedded(text):
    """JSON text the ledger keeps (parameters, a brief) as a value; the text itself if it
    does not parse."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run of Ledger.runs(). Times are UTC microseconds, 0 when not set."""

    id: int
    seq: int
    brief_name: str
    state: str
    plan_fingerprint: str
    dimension: str
    column: str
    code_version: str
    operator: str
    params: object
    brief: object
    max_concurrency: int
    max_attempts: int
    retry_backoff_us: int
    lease_us: int
    batch_count: int
    created_at: int
    started_at: int
    updated_at: int
    finished_at: int


@dataclasses.dataclass(frozen=True)
class BatchRecord:
    """One batch of Run.batches(). Times are UTC microseconds, 0 when not set; worker,
    fingerprints, idempotency_key and error are None when not recorded."""

    id: int
    ordinal: int
    parent_id: int
    state: str
    dimension: str
    label: str
    lo: int
    hi: int
    params: object
    token: int
    attempt: int
    lease_until: int
    not_before: int
    worker: str
    started_at: int
    finished_at: int
    duration_us: int
    rows_written: int
    rows_deleted: int
    fingerprint_before: str
    fingerprint_after: str
    idempotency_key: str
    error: str


@dataclasses.dataclass(frozen=True)
class EventRecord:
    """One event of Run.events(): `from_state` and `to_state` are state names (of a run or a
    batch, by `subject`), None when there is none; `at` is in UTC microseconds."""

    seq: int
    batch_id: int
    subject: str
    from_state: str
    to_state: str
    actor: str
    at: int
    detail: str


def _listing(kind, fill, make):
    """Read a typed listing (bf_<kind>_list) that fill(out) makes, one record per item."""
    out = ctypes.c_void_p()
    fill(ctypes.byref(out))
    handle = out.value
    prefix = "bf_%s_list_" % kind

    def text(name, i):
        value = getattr(lib, prefix + name)(handle, i)
        return None if value is None else value.decode("utf-8")

    def num(name, i):
        return getattr(lib, prefix + name)(handle, i)

    try:
        return [make(text, num, i) for i in range(getattr(lib, prefix + "count")(handle))]
    finally:
        getattr(lib, prefix + "free")(handle)


def _dimension(value):
    name = lib.bf_dimension_name(value)
    return None if name is None else name.decode("ascii")


def _run_record(text, num, i):
    return RunRecord(
        id=num("id", i), seq=num("seq", i), brief_name=text("brief_name", i),
        state=_name(RUN_STATES, num("state", i)),
        plan_fingerprint=text("plan_fingerprint", i), dimension=_dimension(num("dimension", i)),
        column=text("column", i), code_version=text("code_version", i),
        operator=text("operator", i), params=_embedded(text("params_json", i)),
        brief=_embedded(text("brief_json", i)), max_concurrency=num("max_concurrency", i),
        max_attempts=num("max_attempts", i), retry_backoff_us=num("retry_backoff_us", i),
        lease_us=num("lease_us", i), batch_count=num("batch_count", i),
        created_at=num("created_at", i), started_at=num("started_at", i),
        updated_at=num("updated_at", i), finished_at=num("finished_at", i))


def _batch_record(text, num, i):
    return BatchRecord(
        id=num("id", i), ordinal=num("ordinal", i), parent_id=num("parent_id", i),
        state=_name(BATCH_STATES, num("state", i)), dimension=_dimension(num("dimension", i)),
        label=text("label", i), lo=num("lo", i), hi=num("hi", i),
        params=_embedded(text("params_json", i)), token=num("token", i),
        attempt=num("attempt", i), lease_until=num("lease_until", i),
        not_before=num("not_before", i), worker=text("worker", i),
        started_at=num("started_at", i), finished_at=num("finished_at", i),
        duration_us=num("duration_us", i), rows_written=num("rows_written", i),
        rows_deleted=num("rows_deleted", i), fingerprint_before=text("fingerprint_before", i),
        fingerprint_after=text("fingerprint_after", i),
        idempotency_key=text("idempotency_key", i), error=text("error", i))


def _event_record(text, num, i):
    return EventRecord(
        seq=num("seq", i), batch_id=num("batch_id", i), subject=text("subject", i),
        from_state=text("from", i), to_state=text("to", i), actor=text("actor", i),
        at=num("at", i), detail=text("detail", i))


@_serialized
class Ledger(_Handle):
    """A ledger file, created when absent (unless must_exist). `path` is a str,
    bytes or os.PathLike; `durability` is "full" or "normal".

    `clock`, for tests, is a callable returning the time in UTC microseconds;
    it must not raise.

    Threads may share a Ledger and its Runs: their calls take turns on a lock
    the ledger and its runs share (the C handles are used by one thread at a
    time). For work in parallel, open a Ledger per thread."""

    _free = staticmethod(lib.bf_ledger_close)

    def __init__(self, path, durability="full", must_exist=False, actor=None, clock=None,
                 busy_timeout_ms=0):
        cpath = path_arg(path)
        opts = LedgerOptions()
        lib.bf_ledger_options_init(ctypes.byref(opts), 1)
        opts.durability = choice("durability", durability, DURABILITY)
        opts.busy_timeout_ms = int_arg("busy_timeout_ms", busy_timeout_ms, "int")
        opts.flags = _MUST_EXIST if must_exist else 0
        self._actor = text_arg("actor", actor)
        opts.actor = self._actor
        # The C clock must outlive the ledger, so the binding keeps it.
        self._clock = CLOCK_FN(lambda _userdata: int(clock())) if clock else None
        if self._clock:
            opts.clock = self._clock
        self._runs = weakref.WeakSet()
        self._lock = threading.RLock()
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

    def runs(self, brief_name=None):
        """Every run, oldest first (only the brief's, given its name), as RunRecords."""
        cname = text_arg("brief_name", brief_name)
        return _listing("run", lambda out: lib.bf_ledger_runs(out, self._handle(),
                                                              cname), _run_record)

    def start_run(self, plan, brief_name, brief_json=None, code_version=None, operator=None,
                  params=None, max_concurrency=1, max_attempts=3, retry_backoff_s=5.0,
                  lease_s=300.0, new=False):
        """Start the brief's run on `plan`, or resume its unfinished run.

        A different plan for an unfinished run raises ConflictError unless
        new=True (the unfinished run is then cancelled)."""
        cplan = instance_arg("plan", plan, Plan)._handle()
        spec = RunSpec()
        lib.bf_run_spec_init(ctypes.byref(spec), 1)
        keep = [text_arg("brief_name", brief_name), text_arg("brief_json", brief_json),
                text_arg("code_version", code_version), text_arg("operator", operator),
                text_arg("params", json.dumps(params) if params is not None else None)]
        (spec.brief_name, spec.brief_json, spec.code_version, spec.operator_name,
         spec.params_json) = keep
        spec.max_concurrency = int_arg("max_concurrency", max_concurrency, "unsigned int")
        spec.max_attempts = int_arg("max_attempts", max_attempts, "unsigned int")
        spec.retry_backoff_s = float_arg("retry_backoff_s", retry_backoff_s)
        spec.lease_s = float_arg("lease_s", lease_s)
        spec.flags = _RUN_NEW if new else 0
        out = ctypes.c_void_p()
        lib.bf_run_start(ctypes.byref(out), self._handle(), ctypes.byref(spec), cplan)
        return Run(self, out)

    def run(self, ref):
        """Open a run by id or by brief name (its latest run)."""
        cref = text_arg("run", str(ref))
        run_id = ctypes.c_int64()
        lib.bf_ledger_find_run(ctypes.byref(run_id), self._handle(), cref)
        out = ctypes.c_void_p()
        lib.bf_run_open(ctypes.byref(out), self._handle(), run_id.value)
        return Run(self, out)


def _lease_args(lease):
    """A lease's batch id and token, as the int64_t values C takes."""
    instance_arg("lease", lease, Lease)
    return int_arg("lease.batch_id", lease.batch_id), int_arg("lease.token", lease.token)


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


@_serialized
class Run(_Handle):
    _free = staticmethod(lib.bf_run_free)

    def __init__(self, ledger, handle):
        super().__init__(handle)
        self._ledger = ledger  # the run's handle needs its ledger open
        self._lock = ledger._lock  # and uses it: one lock for both
        ledger._runs.add(self)

    def close(self):
        _Handle.close(self)

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
        lib.bf_run_pause(self._handle(), text_arg("detail", detail))

    def resume(self, detail=None):
        lib.bf_run_resume(self._handle(), text_arg("detail", detail))

    def cancel(self, detail=None):
        lib.bf_run_cancel(self._handle(), text_arg("detail", detail))

    def finish(self, detail=None):
        """Mark the run completed once every batch is completed, validated or cancelled.

        For a host that tracks its own batches: the last completion does not
        finish the run by itself. Raises StateError, counting the batches
        left by state, while some are not done, and for a run that is not
        planned, running or approved (one being approved finishes once
        approved)."""
        lib.bf_run_finish(self._handle(), text_arg("detail", detail))

    def retry(self, split=False):
        """Failed batches back to pending; returns how many."""
        n = ctypes.c_size_t()
        lib.bf_run_retry(ctypes.byref(n), self._handle(), _RETRY_SPLIT if split else 0)
        return n.value

    def note(self, text):
        lib.bf_run_note(self._handle(), text_arg("text", text))

    def claim(self):
        """The next batch in plan order, or None when none can be claimed now."""
        out = ctypes.c_void_p()
        lib.bf_run_claim(ctypes.byref(out), self._handle())
        return Lease(out) if out.value else None

    def heartbeat(self, lease):
        lib.bf_run_heartbeat(self._handle(), *_lease_args(lease))

    def complete(self, lease, rows_written=0, rows_deleted=0, fingerprint_before=None,
                 fingerprint_after=None, duration_s=0.0, idempotency_key=None):
        result = BatchResult()
        lib.bf_batch_result_init(ctypes.byref(result), 1)
        result.rows_written = int_arg("rows_written", rows_written)
        result.rows_deleted = int_arg("rows_deleted", rows_deleted)
        for name, fp in (("fingerprint_before", fingerprint_before),
                         ("fingerprint_after", fingerprint_after)):
            setattr(result, name, text_arg(name, None if fp is None else str(fp)))
        result.duration_s = float_arg("duration_s", duration_s)
        result.idempotency_key = text_arg("idempotency_key", idempotency_key)
        batch_id, token = _lease_args(lease)
        lib.bf_run_complete(self._handle(), batch_id, token, ctypes.byref(result))

    def fail(self, lease, message):
        cmessage = text_arg("message", message)
        lib.bf_run_fail(self._handle(), *_lease_args(lease), cmessage)

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
        BATCH_STATES), as BatchRecords."""
        code = -1 if state is None else choice("batch state", state, BATCH_STATES)
        return _listing("batch", lambda out: lib.bf_run_batches(out, self._handle(), code),
                        _batch_record)

    def events(self):
        """The run's audit log, oldest first, as EventRecords."""
        return _listing("event", lambda out: lib.bf_run_events(out, self._handle()),
                        _event_record)

"""The runner (runner.h): a whole backfill run from a brief, through the
library's own SQLite driver: test slice, run, approval, rollback, cleanup."""

import ctypes
import json
import threading

from ._args import float_arg, instance_arg, int_arg, path_arg, text_arg
from ._handle import Handle
from ._native import RUN_EVENT_FN, RunnerOptions, lib
from .brief import Brief
from .errors import error_for

_NEW, _FORCE, _NO_WAIT = 1, 2, 4


def _event(ev):
    """A bf_run_event as a dict, copied: the C event lives only during the callback."""
    name = lib.bf_run_event_name(ev.kind)
    text = ev.json.decode("utf-8") if ev.json else "{}"
    return {
        "kind": name.decode("ascii") if name else None,
        "run_id": ev.run_id,
        "batch_id": ev.batch_id,
        "batch_label": ev.batch_label.decode("utf-8") if ev.batch_label else None,
        "rows_written": ev.rows_written,
        "rows_deleted": ev.rows_deleted,
        "duration_s": ev.duration_s,
        "message": ev.message.decode("utf-8") if ev.message else None,
        "json": json.loads(text),
    }


class Runner(Handle):
    """Runs a brief against a SQLite warehouse, recording everything in the
    ledger at `ledger` (created when absent).

    workers: worker threads (0: the run's max_concurrency); new: start a new
    run even if the brief has an unfinished one, once: a later run() of this
    runner (after a stop(), say) resumes that run; force: publish batches an
    earlier run already did; no_wait: return instead of waiting for batches
    leased elsewhere; operator: who runs it (the ledger's actor when None);
    target_batch_s: seconds a key-range batch should take, for adaptive
    sizing (0: the brief's batching.target_batch_s).

    on_event(event) is called on the thread that called run() (or
    test_slice(), approve(), ...) with each event as a dict: "kind" (its
    name, "batch_done"), "run_id", "batch_id", "batch_label", "rows_written",
    "rows_deleted", "duration_s", "message" and "json", the whole event
    parsed. An exception it raises does not cross into the library: the
    runner stops (as stop() does), no further event is passed, and the call
    re-raises it once it has returned."""

    _free = staticmethod(lib.bf_runner_free)

    def __init__(self, ledger, warehouse, workers=0, new=False, force=False, no_wait=False,
                 operator=None, on_event=None, poll_s=0.0, target_batch_s=0.0):
        self._h = None
        opts = RunnerOptions()
        lib.bf_runner_options_init(ctypes.byref(opts), 1)
        self._keep = [path_arg(ledger), path_arg(warehouse), text_arg("operator", operator)]
        opts.ledger_path, opts.warehouse_path, opts.operator_name = self._keep
        opts.workers = int_arg("workers", workers, "unsigned int")
        opts.poll_s = float_arg("poll_s", poll_s)
        opts.target_batch_s = float_arg("target_batch_s", target_batch_s)
        opts.flags = (_NEW if new else 0) | (_FORCE if force else 0) | (_NO_WAIT if no_wait else 0)
        self.on_event = on_event
        self._raised = None
        # The library keeps the function pointer: it lives as long as the runner.
        self._trampoline = RUN_EVENT_FN(self._deliver)
        opts.on_event = self._trampoline
        # _lock guards _h and _busy against close() and stop() from other threads.
        self._lock = threading.Lock()
        self._busy = False
        out = ctypes.c_void_p()
        lib.bf_runner_new(ctypes.byref(out), ctypes.byref(opts))
        super().__init__(out)

    def _deliver(self, _userdata, ev):
        # Runs under the library: nothing may propagate out of here.
        try:
            if self._raised is None and self.on_event is not None:
                self.on_event(_event(ev.contents))
        except BaseException as exc:  # noqa: B902 - also KeyboardInterrupt, re-raised later
            self._raised = exc
            if self._h:
                lib.bf_runner_stop(self._h)

    def _call(self, fn):
        """Run fn(handle) -> rc as the one call in flight; raise its failure
        (or the on_event callback's exception) after it returns."""
        with self._lock:
            h = self._handle()
            if self._busy:
                raise ValueError("the runner is busy: a call on it is still running")
            self._busy = True
            self._raised = None
        try:
            rc = fn(h)
            message = lib.bf_runner_last_error(h).decode("utf-8", "replace") if rc else None
        finally:
            with self._lock:
                self._busy = False
        raised, self._raised = self._raised, None
        if raised is not None:
            raise raised
        if rc:
            raise error_for(rc, message)

    def close(self):
        """Free the runner; refused (ValueError) while a call on it runs in another thread."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return super().close()
        with lock:
            if self._busy:
                raise ValueError("the runner is running: stop() it and let run() return first")
            super().close()

    def set_brief(self, brief):
        """Run this Brief (copied). BlockedError, naming the first, when the
        preflight has blocking findings."""
        cbrief = instance_arg("brief", brief, Brief)._handle()
        self._call(lambda h: lib.bf_runner_set_brief(h, cbrief))

    def run(self):
        """Start the brief's run or resume its unfinished one, and run every
        batch; returns the run's id once it awaits approval (or is already
        approved or completed). ValidationError when a check failed (the run
        is paused with its sentence), StateError when the run is paused,
        cancelled or failed or the runner was stopped, ConflictError when the
        target changed; the error's `run_id` is the run's id (0 if none)."""
        run_id = ctypes.c_int64()
        try:
            self._call(lambda h: lib.bf_runner_run(h, ctypes.byref(run_id)))
        except BaseException as exc:
            if isinstance(exc, Exception) and not hasattr(exc, "run_id"):
                exc.run_id = run_id.value
            raise
        return run_id.value

    def stop(self):
        """Ask a running run() to stop: no new claims, batches in flight
        finish, and run() raises StateError. Safe from any thread; nothing
        happens on a closed runner."""
        with self._lock:
            if self._h:
                lib.bf_runner_stop(self._h)

    def _json_call(self, fn):
        out = ctypes.c_void_p()
        result = []

        def call(h):
            rc = fn(ctypes.byref(out), h)
            if out.value:
                try:
                    result.append(json.loads(ctypes.string_at(out.value).decode("utf-8")))
                finally:
                    lib.bf_free(out)
            return rc

        try:
            self._call(call)
        except Exception as exc:
            exc.result = result[0] if result else None
            raise
        return result[0] if result else None

    def test_slice(self, batches=0):
        """Run `batches` (0: 5) representative batches into a scratch copy
        and measure them; returns the parsed "backfill-test-slice/1" JSON.
        ValidationError or BlockedError (not idempotent) when the slice did
        not pass; the error's `result` holds the JSON then."""
        cbatches = int_arg("batches", batches, "size_t")
        return self._json_call(lambda out, h: lib.bf_runner_test_slice(out, h, cbatches))

    def approve(self, run_id, reviewer):
        """Approve run `run_id` as `reviewer` (the brief's reviewer, never the
        operator: BlockedError), then cut over and refresh downstream."""
        crun, creviewer = int_arg("run_id", run_id), text_arg("reviewer", reviewer)
        self._call(lambda h: lib.bf_runner_approve(h, crun, creviewer))

    def rollback(self, run_id, batch_id=0):
        """Roll back one batch (or, with batch_id 0, the whole run) and prove
        it by fingerprints; returns the parsed "backfill-rollback/1" JSON. A
        refusal's error has the JSON in `result`."""
        crun, cbatch = int_arg("run_id", run_id), int_arg("batch_id", batch_id)
        return self._json_call(lambda out, h: lib.bf_runner_rollback(out, h, crun, cbatch))

    def cleanup(self, run_id):
        """Drop the run's snapshots, staging and version tables once its
        retention is over; returns the parsed "backfill-cleanup/1" JSON."""
        crun = int_arg("run_id", run_id)
        return self._json_call(lambda out, h: lib.bf_runner_cleanup(out, h, crun))

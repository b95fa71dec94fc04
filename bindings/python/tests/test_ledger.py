"""Batch tracking from Python: the ledger through the binding."""

import ctypes
import dataclasses
import json
import os
import pathlib
import shutil
import tempfile
import unittest

import libbackfill
from libbackfill import BatchRecord, EventRecord, Fingerprint, Ledger, Plan, RunRecord
from libbackfill._native import lib

SOURCE_ROOT = os.environ.get("BF_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))


def key_plan(name="key-plan.json"):
    """A recorded plan: key-plan.json cuts order_id [0, 30) in tens, key-plan-width15.json in fifteens."""
    with open(os.path.join(SOURCE_ROOT, "tests/fuzz/corpus/plan_json", name)) as f:
        return Plan.from_json(f.read())


class FakeClock:
    def __init__(self):
        self.now = 1_750_000_000_000_000  # UTC microseconds

    def __call__(self):
        return self.now


class LedgerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bf-py-ledger-")
        self.path = os.path.join(self.dir, "ledger.db")
        self.plan = key_plan()

    def tearDown(self):
        self.plan.close()
        shutil.rmtree(self.dir)

    def test_every_batch_once_in_plan_order(self):
        with Ledger(self.path, durability="normal", actor="py-test") as ledger:
            run = ledger.start_run(self.plan, "orders-fix", max_concurrency=3, code_version="v1")
            self.assertEqual(run.state, "planned")
            self.assertEqual(run.plan_fingerprint, self.plan.fingerprint)
            leases = [run.claim() for _ in range(3)]
            self.assertEqual([l.label for l in leases],
                             ["order_id [0, 10)", "order_id [10, 20)", "order_id [20, 30)"])
            self.assertEqual(leases[1].params, {"lo": 10, "hi": 20})
            self.assertIsNone(run.claim(), "a fourth claim found a batch")
            fp = Fingerprint([(1, "a")])
            for n, lease in enumerate(leases):
                run.complete(lease, rows_written=10 * (n + 1), fingerprint_after=fp)
            progress = run.progress()
            self.assertEqual((progress["total"], progress["completed"], progress["pending"]),
                             (3, 3, 0))
            self.assertEqual(progress["rows_written"], 60)
            batches = run.batches("completed")
            self.assertEqual(len(batches), 3)
            completions = [e for e in run.events() if e.to_state == "completed"]
            self.assertEqual(len(completions), 3)
            self.assertEqual({e.actor for e in completions}, {"py-test"})

    def test_threads_may_share_a_ledger_and_its_runs(self):
        # Eight threads claim, complete and read one Ledger and Run at once: the
        # binding serializes them, so nothing crashes or fails, and every batch
        # is completed once.
        import threading
        errors, done = [], []
        with Ledger(self.path, durability="normal", actor="py-test") as ledger:
            run = ledger.start_run(self.plan, "orders-fix", max_concurrency=3)

            def work():
                try:
                    for _ in range(40):
                        run.progress()
                        ledger.runs()
                        lease = run.claim()
                        if lease is not None:
                            run.complete(lease, rows_written=1)
                            done.append(lease.batch_id)
                except Exception as e:  # pragma: no cover - the failure is the assertion
                    errors.append(repr(e))

            threads = [threading.Thread(target=work) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(sorted(done), sorted(set(done)))
            self.assertEqual(len(done), 3)
            self.assertEqual(run.progress()["completed"], 3)

    def test_typed_listings(self):
        clock = FakeClock()
        t0 = clock.now
        with Ledger(self.path, clock=clock, actor="py-test") as ledger:
            run = ledger.start_run(self.plan, "orders-fix", max_attempts=1, max_concurrency=2,
                                   params={"dry_run": False}, code_version="v1", lease_s=60)
            clock.now += 1_000_000
            done = run.claim()
            clock.now += 2_000_000
            run.complete(done, rows_written=7, rows_deleted=1, duration_s=1.5,
                         fingerprint_after=Fingerprint([(1, "a")]), idempotency_key="k1")
            failing = run.claim()
            run.fail(failing, "warehouse timed out")
            held = run.claim()
            run.note("looking")
            ledger.start_run(self.plan, "events-fix")

            runs = ledger.runs()
            self.assertTrue(all(isinstance(r, RunRecord) for r in runs))
            self.assertEqual([(r.id, r.brief_name, r.state) for r in runs],
                             [(1, "orders-fix", "running"), (2, "events-fix", "planned")])
            r = runs[0]
            self.assertEqual((r.seq, r.dimension, r.column, r.code_version, r.operator),
                             (1, "key", "order_id", "v1", "py-test"))
            self.assertEqual(r.params, {"dry_run": False})
            self.assertEqual(r.plan_fingerprint, self.plan.fingerprint)
            self.assertEqual((r.max_concurrency, r.max_attempts, r.lease_us, r.batch_count),
                             (2, 1, 60_000_000, 3))
            self.assertEqual((r.created_at, r.started_at, r.finished_at),
                             (t0, t0 + 1_000_000, 0))
            self.assertEqual([r.id for r in ledger.runs("events-fix")], [2])
            self.assertEqual(ledger.runs("nosuch"), [])

            batches = run.batches()
            self.assertTrue(all(isinstance(b, BatchRecord) for b in batches))
            self.assertEqual([b.state for b in batches], ["completed", "failed", "running"])
            b = batches[0]
            self.assertEqual((b.id, b.ordinal, b.label, b.lo, b.hi, b.params),
                             (done.batch_id, 0, "order_id [0, 10)", 0, 10, {"lo": 0, "hi": 10}))
            self.assertEqual((b.token, b.attempt, b.rows_written, b.rows_deleted, b.duration_us),
                             (1, 1, 7, 1, 1_500_000))
            self.assertEqual((b.started_at, b.finished_at), (t0 + 1_000_000, t0 + 3_000_000))
            self.assertEqual((b.fingerprint_after, b.fingerprint_before, b.idempotency_key),
                             (str(Fingerprint([(1, "a")])), None, "k1"))
            self.assertIsNone(b.error)
            # Who completed it (it was None): nobody holds it, its last holder wrote it.
            self.assertEqual((b.worker, b.lease_until), ("py-test", 0))
            self.assertEqual(batches[1].error, "warehouse timed out")
            self.assertEqual((batches[2].worker, batches[2].lease_until, batches[2].token),
                             ("py-test", t0 + 63_000_000, held.token))
            self.assertEqual([b.id for b in run.batches("failed")], [failing.batch_id])

            events = run.events()
            self.assertTrue(all(isinstance(e, EventRecord) for e in events))
            self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
            self.assertEqual((events[0].subject, events[0].from_state, events[0].to_state),
                             ("run", None, "planned"))
            self.assertEqual((events[-1].subject, events[-1].detail), ("note", "looking"))
            self.assertTrue(all(e.actor == "py-test" for e in events))

            # The library's JSON listings say the same.
            out = ctypes.c_void_p()
            lib.bf_run_batches_json(ctypes.byref(out), run._handle(), -1)
            as_json = json.loads(ctypes.string_at(out.value).decode("utf-8"))
            lib.bf_free(out)
            self.assertEqual([(j["id"], j["state"], j["label"], j["params"], j["error"], j["worker"])
                              for j in as_json],
                             [(b.id, b.state, b.label, b.params, b.error, b.worker)
                              for b in batches])
            lib.bf_run_events_json(ctypes.byref(out), run._handle())
            as_json = json.loads(ctypes.string_at(out.value).decode("utf-8"))
            lib.bf_free(out)
            self.assertEqual([(j["seq"], j["subject"], j["from"], j["to"], j["at_us"], j["detail"])
                              for j in as_json],
                             [(e.seq, e.subject, e.from_state, e.to_state, e.at, e.detail)
                              for e in events])
            with self.assertRaises(dataclasses.FrozenInstanceError):
                b.state = "pending"

    def test_same_brief_resumes_and_other_plan_conflicts(self):
        with Ledger(self.path) as ledger:
            first = ledger.start_run(self.plan, "orders-fix")
            lease = first.claim()
            again = ledger.start_run(self.plan, "orders-fix")
            self.assertEqual(again.id, first.id)
            with key_plan() as same:
                self.assertEqual(ledger.start_run(same, "orders-fix").id, first.id)
            other = key_plan("key-plan-width15.json")
            with self.assertRaises(libbackfill.ConflictError) as caught:
                ledger.start_run(other, "orders-fix")
            self.assertIn("orders-fix", str(caught.exception))
            newer = ledger.start_run(other, "orders-fix", new=True)
            self.assertNotEqual(newer.id, first.id)
            self.assertEqual(newer.seq, first.seq + 1)
            self.assertEqual(first.refresh(), "cancelled")
            other.close()
            self.assertEqual(ledger.run("orders-fix").id, newer.id)
            self.assertEqual(ledger.run(first.id).state, "cancelled")
            self.assertEqual(lease.label, "order_id [0, 10)")

    def test_expired_lease_is_fenced_off(self):
        clock = FakeClock()
        with Ledger(self.path, clock=clock) as ledger:
            run = ledger.start_run(self.plan, "orders-fix", lease_s=10)
            zombie = run.claim()
            clock.now += 20_000_000
            fresh = run.claim()
            self.assertEqual(fresh.batch_id, zombie.batch_id)
            self.assertGreater(fresh.token, zombie.token)
            with self.assertRaises(libbackfill.LeaseLostError):
                run.complete(zombie, rows_written=1)
            with self.assertRaises(libbackfill.LeaseLostError):
                run.heartbeat(zombie)
            run.complete(fresh, rows_written=5)
            self.assertEqual(run.progress()["rows_written"], 5)

    def test_failures_retry_and_pause(self):
        with Ledger(self.path) as ledger:
            run = ledger.start_run(self.plan, "orders-fix", max_attempts=1)
            lease = run.claim()
            run.fail(lease, "warehouse timed out")
            failed = run.batches("failed")
            self.assertEqual([b.label for b in failed], ["order_id [0, 10)"])
            self.assertEqual(run.retry(), 1)
            again = run.claim()
            self.assertEqual((again.label, again.attempt), ("order_id [0, 10)", 1))
            self.assertIsNone(run.claim(), "max_concurrency 1 let a second batch run")
            run.complete(again, rows_written=3)
            run.pause("nightly load")
            self.assertEqual(run.state, "paused")
            with self.assertRaises(libbackfill.StateError):
                run.claim()
            run.resume()
            self.assertEqual(run.claim().label, "order_id [10, 20)")

    def test_closing_the_ledger_closes_its_runs(self):
        ledger = Ledger(self.path)
        run = ledger.start_run(self.plan, "orders-fix")
        ledger.close()
        with self.assertRaises(ValueError) as caught:
            run.claim()
        self.assertEqual(str(caught.exception), "the run is closed (its ledger was closed)")
        for use in (lambda: run.state, lambda: run.progress(), lambda: run.batches()):
            with self.assertRaises(ValueError):
                use()
        run.close()
        with Ledger(self.path) as again:
            self.assertEqual(again.run("orders-fix").state, "planned")

    def test_finish_once_every_batch_is_done(self):
        with Ledger(self.path, durability="normal") as ledger:
            run = ledger.start_run(self.plan, "orders-fix", max_concurrency=3)
            with self.assertRaises(libbackfill.StateError) as caught:
                run.finish()
            self.assertIn("3 batches are not finished (3 pending, 0 running, 0 failed",
                          str(caught.exception))
            self.assertEqual(run.refresh(), "planned")
            for lease in [run.claim() for _ in range(3)]:
                run.complete(lease)
            run.finish("host says done")
            self.assertEqual(run.state, "completed")
            self.assertEqual(run.progress()["state"], "completed")
            self.assertEqual(run.events()[-1].detail, "host says done")
            with self.assertRaises(libbackfill.StateError):
                run.finish()

    def test_missing_ledger_with_must_exist(self):
        with self.assertRaises(libbackfill.NotFoundError) as caught:
            Ledger(os.path.join(self.dir, "nosuch.db"), must_exist=True)
        self.assertIn("nosuch.db", str(caught.exception))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "nosuch.db")))

    def test_paths_may_be_path_like_or_bytes(self):
        for path in (pathlib.Path(self.path), os.fsencode(self.path)):
            with self.subTest(path=type(path).__name__):
                with Ledger(path) as ledger:
                    self.assertEqual(ledger.path, self.path)
                    ledger.start_run(self.plan, "orders-fix")
        with Ledger(pathlib.Path(self.path)) as ledger:
            self.assertEqual([r.brief_name for r in ledger.runs()], ["orders-fix"])
        with self.assertRaises(libbackfill.NotFoundError):
            Ledger(pathlib.Path(self.dir) / "nosuch.db", must_exist=True)

    def test_paths_with_a_null_byte_are_refused(self):
        # C would stop reading at the null byte and open another file.
        for path in (os.path.join(self.dir, "cut.db\0.bak"),
                     pathlib.Path(self.dir) / "cut.db\0.bak"):
            with self.subTest(path=path), self.assertRaises(ValueError):
                Ledger(path)
        self.assertEqual(os.listdir(self.dir), [])
        with self.assertRaises(TypeError):
            Ledger(42)

    def test_integers_out_of_range_are_refused(self):
        # ctypes would wrap each into the C type: 2**32 as 0, a token plus 2**64 as the token.
        with self.assertRaises(OverflowError) as caught:
            Ledger(self.path, busy_timeout_ms=2**31)
        self.assertIn("busy_timeout_ms is out of range for int (-2147483648..2147483647)",
                      str(caught.exception))
        self.assertFalse(os.path.exists(self.path), "a refused ledger was created")
        with Ledger(self.path) as ledger:
            for kwargs, error, message in (
                    ({"max_concurrency": -1}, ValueError,
                     "max_concurrency must not be negative (it is a C unsigned int); got -1"),
                    ({"max_concurrency": 2**32}, OverflowError,
                     "max_concurrency is out of range for unsigned int (0..4294967295); "
                     "got 4294967296"),
                    ({"max_attempts": 2**32 + 1}, OverflowError, "max_attempts"),
                    ({"lease_s": 10**400}, OverflowError, "lease_s is too large for a double"),
                    ({"retry_backoff_s": "5"}, TypeError, "retry_backoff_s must be a number")):
                with self.subTest(**kwargs), self.assertRaises(error) as caught:
                    ledger.start_run(self.plan, "orders-fix", **kwargs)
                self.assertIn(message, str(caught.exception))
            self.assertEqual(ledger.runs(), [], "a refused run was started")

            run = ledger.start_run(self.plan, "orders-fix")
            lease = run.claim()
            for kwargs in ({"rows_written": 2**63}, {"rows_deleted": -2**63 - 1}):
                with self.subTest(**kwargs), self.assertRaises(OverflowError) as caught:
                    run.complete(lease, **kwargs)
                self.assertIn(next(iter(kwargs)), str(caught.exception))
            token = lease.token
            lease.token = token + 2**64
            for call in (run.heartbeat, run.complete, lambda lease: run.fail(lease, "no")):
                with self.assertRaises(OverflowError) as caught:
                    call(lease)
                self.assertIn("lease.token is out of range for int64_t", str(caught.exception))
            self.assertEqual([b.state for b in run.batches()], ["running", "pending", "pending"])
            lease.token = token
            run.complete(lease, rows_written=2**63 - 1)
            self.assertEqual(run.batches("completed")[0].rows_written, 2**63 - 1)

    def test_null_bytes_in_strings_are_refused(self):
        # C would read each only up to the null byte.
        with self.assertRaises(ValueError) as caught:
            Ledger(self.path, actor="py-test\0mallory")
        self.assertIn("actor holds a null byte at index 7", str(caught.exception))
        self.assertFalse(os.path.exists(self.path), "a refused ledger was created")
        with Ledger(self.path, actor="py-test") as ledger:
            for kwargs in ({"brief_name": "orders-fix\0x"}, {"code_version": "v1\0v2"},
                           {"operator": "ana\0mallory"}, {"brief_json": "{\0}"}):
                args = dict({"brief_name": "orders-fix"}, **kwargs)
                with self.subTest(**kwargs), self.assertRaises(ValueError) as caught:
                    ledger.start_run(self.plan, **args)
                self.assertIn("%s holds a null byte" % next(iter(kwargs)), str(caught.exception))
            self.assertEqual([r.brief_name for r in ledger.runs()], [])
            run = ledger.start_run(self.plan, "orders-fix")
            with self.assertRaises(ValueError):
                ledger.runs("orders-fix\0x")
            with self.assertRaises(ValueError) as caught:
                ledger.run("%d\0zzz" % run.id)
            self.assertIn("run holds a null byte at index 1", str(caught.exception))
            for call in (run.pause, run.resume, run.cancel, run.finish, run.note):
                with self.subTest(call=call.__name__), self.assertRaises(ValueError) as caught:
                    call("stop\0please")
                self.assertIn("null byte at index 4", str(caught.exception))
            self.assertEqual(run.refresh(), "planned")
            self.assertEqual([e.subject for e in run.events()], ["run"],
                             "a refused call was recorded")
            lease = run.claim()
            for kwargs in ({"idempotency_key": "k\0x"}, {"fingerprint_after": "1:00\0"}):
                with self.subTest(**kwargs), self.assertRaises(ValueError):
                    run.complete(lease, **kwargs)
            with self.assertRaises(ValueError):
                run.fail(lease, "timed out\0")
            self.assertEqual([b.state for b in run.batches()], ["running", "pending", "pending"])
        with open(os.path.join(SOURCE_ROOT, "tests/fuzz/corpus/plan_json/key-plan.json")) as f:
            text = f.read()
        with self.assertRaises(ValueError) as caught:
            Plan.from_json(text + "\0{}")
        self.assertIn("plan JSON holds a null byte", str(caught.exception))

    def test_lease_params_have_the_types_of_the_plans(self):
        # The ledger wrote the real 2.0 as 2: the lease's params held the int 2.
        with key_plan("mixed-params.json") as plan, Ledger(self.path) as ledger:
            run = ledger.start_run(plan, "typed", max_concurrency=len(plan))
            for batch in plan:
                lease = run.claim()
                self.assertEqual([(k, type(v), v) for k, v in lease.params.items()],
                                 [(k, type(v), v) for k, v in batch.params.items()])
            self.assertEqual(plan[0].params, {"n": 2, "r": 2.0, "s": "x", "z": None})
            self.assertIs(type(plan[0].params["r"]), float)

    def test_handles_of_another_type_are_refused(self):
        # None failed with AttributeError ('NoneType' object has no attribute '_handle').
        with Ledger(self.path) as ledger:
            for given, name in ((None, "NoneType"), (self.plan.to_json(), "str"), (ledger, "Ledger")):
                with self.subTest(plan=name), self.assertRaises(TypeError) as caught:
                    ledger.start_run(given, "orders-fix")
                self.assertEqual(str(caught.exception), "plan must be a Plan, not %s" % name)
            self.assertEqual(ledger.runs(), [], "a refused run was started")
            run = ledger.start_run(self.plan, "orders-fix")
            run.claim()
            for call in (run.heartbeat, run.complete, lambda lease: run.fail(lease, "no")):
                with self.assertRaises(TypeError) as caught:
                    call(None)
                self.assertEqual(str(caught.exception), "lease must be a Lease, not NoneType")
            self.assertEqual([b.state for b in run.batches()], ["running", "pending", "pending"])
            with self.assertRaises(TypeError) as caught:
                libbackfill.report_run(None, run.id)
            self.assertIn("ledger must be a Ledger or a path", str(caught.exception))

    def test_bad_choices_name_the_allowed_values(self):
        with self.assertRaises(ValueError) as caught:
            Ledger(self.path, durability="Normal")
        self.assertIn("'full', 'normal'", str(caught.exception))
        self.assertIn("'Normal'", str(caught.exception))
        self.assertFalse(os.path.exists(self.path), "a refused ledger was created")
        with Ledger(self.path) as ledger:
            run = ledger.start_run(self.plan, "orders-fix")
            for bad in ("bogus", "Pending", 0):
                with self.subTest(state=bad), self.assertRaises(ValueError) as caught:
                    run.batches(bad)
                self.assertIn("'pending', 'running', 'completed'", str(caught.exception))
                self.assertIn("'split'", str(caught.exception))
            self.assertEqual(len(run.batches()), 3)
            self.assertEqual(len(run.batches("pending")), 3)


if __name__ == "__main__":
    unittest.main()

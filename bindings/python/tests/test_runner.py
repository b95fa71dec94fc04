"""The runner and the reports through the binding, on a small SQLite warehouse."""

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import unittest

import libbackfill
from libbackfill import (BlockedError, Brief, Fingerprint, InvalidError, Ledger, NotFoundError,
                         ParseError, Plan, Runner, StateError, ValidationError, report_brief,
                         report_run)
from test_plan import read_key_plan

LABELS = ["id [0, 25)", "id [25, 50)", "id [50, 75)", "id [75, 100)"]


def make_warehouse(path):
    """src holds v = 3 * id for ids 0..99; the target t has v = -1 on the same ids,
    and one row (id 500) outside the brief's scope."""
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE src (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
        CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
        INSERT INTO src SELECT i, i * 3 FROM n;
        INSERT INTO t SELECT id, -1 FROM src;
        INSERT INTO t VALUES (500, 7);
    """)
    db.commit()
    db.close()


def brief_json(name="t-fix", row_count='{"check": "row_count", "min": 1}'):
    """A key brief over ids [0, 100) in four batches of 25."""
    return """{"format": "backfill-brief/1", "name": "%s", "reason": "v was never computed.",
 "owner": "ana@example.com", "reviewer": "raj@example.com", "risk": "enrichment",
 "code_version": "git:abc123",
 "target": {"table": "t", "key": ["id"], "columns": ["v"]},
 "sources": ["src"],
 "scope": {"keys": {"column": "id", "start": 0, "end": 100}},
 "batching": {"by": "key", "width": 25, "max_concurrency": 2},
 "write": {"strategy": "partition_overwrite", "snapshot": true},
 "job": {"select": "SELECT id, v FROM src WHERE id >= :lo AND id < :hi"},
 "validation": [{"check": "unique"}, %s],
 "rollback": {"plan": "Per-batch pre-images.", "retention_days": 0},
 "communication": {"stakeholders": ["data"], "channel": "#data"}}""" % (name, row_count)


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bf-py-runner-")
        self.warehouse = os.path.join(self.dir, "w.db")
        self.ledger = os.path.join(self.dir, "w.db.ledger")
        make_warehouse(self.warehouse)
        self.brief = Brief.from_json(brief_json())

    def tearDown(self):
        self.brief.close()
        shutil.rmtree(self.dir)

    def rows(self):
        db = sqlite3.connect(self.warehouse)
        try:
            return db.execute("SELECT id, v FROM t ORDER BY id").fetchall()
        finally:
            db.close()

    def runner(self, **kwargs):
        kwargs.setdefault("operator", "ana@example.com")
        runner = Runner(self.ledger, self.warehouse, **kwargs)
        self.addCleanup(runner.close)
        runner.set_brief(self.brief)
        return runner

    def run_state(self, run_id):
        with Ledger(self.ledger, must_exist=True) as ledger:
            run = ledger.run(run_id)
            return run.state, [b.state for b in run.batches()]

    def test_run_to_awaiting_approval_with_events_in_order(self):
        events = []
        runner = self.runner(workers=1, on_event=events.append)
        run_id = runner.run()
        self.assertEqual(run_id, 1)
        kinds = [e["kind"] for e in events if e["kind"] != "progress"]
        self.assertEqual(kinds[0], "started")
        self.assertEqual(kinds[-1], "awaiting_approval")
        self.assertEqual(kinds[1:-1], ["batch_started", "batch_done"] * 4)
        done = [e for e in events if e["kind"] == "batch_done"]
        self.assertEqual(sorted(e["batch_label"] for e in done), LABELS)
        self.assertEqual({e["rows_written"] for e in done}, {25})
        for e in events:
            self.assertEqual(e["run_id"], run_id)
            self.assertEqual(e["json"]["event"], e["kind"])
            self.assertEqual(e["json"]["run"], run_id)
        self.assertEqual(done[0]["json"]["batch"], done[0]["batch_label"])
        self.assertEqual(self.run_state(run_id), ("awaiting_approval", ["validated"] * 4))
        self.assertEqual(self.rows(), [(i, 3 * i) for i in range(100)] + [(500, 7)])

    def test_failing_check_raises_validation_with_its_sentence(self):
        bad = Brief.from_json(brief_json("t-bad", '{"check": "row_count", "max": 10}'))
        self.addCleanup(bad.close)
        runner = Runner(self.ledger, self.warehouse)
        self.addCleanup(runner.close)
        runner.set_brief(bad)
        with self.assertRaises(ValidationError) as cm:
            runner.run()
        err = cm.exception
        self.assertEqual((err.name, err.code), ("BF_E_VALIDATION", -10))
        self.assertIn("check row_count: table t has 25 rows in batch id [", str(err))
        self.assertIn("row_count expects 0..10", str(err))
        self.assertEqual(err.run_id, 1)
        self.assertEqual(self.run_state(1)[0], "paused")
        # Paused: running it again is refused until someone resumes it.
        with self.assertRaises(libbackfill.BackfillError) as cm:
            runner.run()
        self.assertIn(cm.exception.name, ("BF_E_STATE", "BF_E_BLOCKED"))

    def test_approve_report_rollback_cleanup(self):
        before = self.rows()
        runner = self.runner()
        run_id = runner.run()
        self.assertNotEqual(self.rows(), before)
        with self.assertRaises(BlockedError) as cm:
            runner.approve(run_id, "ana@example.com")
        self.assertIn("ana@example.com is not the brief's reviewer (raj@example.com)",
                      str(cm.exception))
        self.assertEqual(self.run_state(run_id)[0], "awaiting_approval")
        runner.approve(run_id, "raj@example.com")
        self.assertEqual(self.run_state(run_id)[0], "completed")

        note = report_run(self.ledger, run_id, "after")
        self.assertIn("Definition of done", note)
        with Ledger(self.ledger) as ledger:
            by_name = report_run(ledger, "t-fix", stage="after", format="markdown")
            self.assertEqual(by_name, note)
            data = json.loads(report_run(ledger, run_id, "after", "json"))
        self.assertEqual(data["format"], "backfill-report/1")
        with self.assertRaises(ValueError) as cm:
            report_run(self.ledger, run_id, "later")
        self.assertIn("'before', 'during', 'after'", str(cm.exception))
        with self.assertRaises(libbackfill.NotFoundError):
            report_run(self.ledger, 99)

        result = runner.rollback(run_id)
        self.assertEqual(result["format"], "backfill-rollback/1")
        self.assertEqual(sorted(b["label"] for b in result["batches"]), LABELS)
        self.assertTrue(all(b["restored"] for b in result["batches"]))
        self.assertEqual(self.rows(), before)
        self.assertEqual(Fingerprint(self.rows()), Fingerprint(before))
        self.assertEqual(self.run_state(run_id)[0], "rolled_back")
        with self.assertRaises(StateError):
            runner.rollback(run_id)

        cleaned = runner.cleanup(run_id)
        self.assertEqual((cleaned["format"], cleaned["run"], cleaned["state"]),
                         ("backfill-cleanup/1", run_id, "rolled_back"))

    def test_rollback_of_one_batch(self):
        before = dict(self.rows())
        runner = self.runner()
        run_id = runner.run()
        with Ledger(self.ledger) as ledger:
            batch = [b for b in ledger.run(run_id).batches() if b.label == "id [25, 50)"][0]
        result = runner.rollback(run_id, batch.id)
        self.assertEqual([b["label"] for b in result["batches"]], ["id [25, 50)"])
        rows = dict(self.rows())
        self.assertEqual([rows[i] for i in range(25, 50)], [before[i] for i in range(25, 50)])
        self.assertEqual(rows[60], 180, "a batch not rolled back kept its new value")

    def test_test_slice(self):
        runner = self.runner()
        result = runner.test_slice(2)
        self.assertEqual((result["format"], result["status"]), ("backfill-test-slice/1", "pass"))
        self.assertEqual(len(result["batches"]), 2)
        self.assertEqual(result["estimate"]["batches"], 4)
        self.assertEqual(self.rows(), [(i, -1) for i in range(100)] + [(500, 7)],
                         "the test slice wrote to the target")

    def test_exception_in_on_event_surfaces_after_run_returns(self):
        class Boom(Exception):
            pass

        seen = []

        def on_event(event):
            seen.append(event["kind"])
            if event["kind"] == "batch_done":
                raise Boom("the host's callback failed")

        runner = self.runner(workers=1, on_event=on_event)
        with self.assertRaises(Boom):
            runner.run()
        self.assertEqual(seen.count("batch_done"), 1, "events were passed after the exception")
        state, batches = self.run_state(1)
        self.assertNotIn(state, ("awaiting_approval", "completed"))
        self.assertNotIn("running", batches, "a batch was left leased: %s" % batches)
        # The runner is usable again, and the run resumes to its end.
        runner.on_event = None
        self.assertEqual(runner.run(), 1)
        self.assertEqual(self.run_state(1), ("awaiting_approval", ["validated"] * 4))
        self.assertEqual(self.rows(), [(i, 3 * i) for i in range(100)] + [(500, 7)])

    def test_stop_from_another_thread(self):
        kinds = []

        def on_event(event):
            kinds.append(event["kind"])
            if event["kind"] == "batch_done" and kinds.count("batch_done") == 1:
                stopper = threading.Thread(target=runner.stop)
                stopper.start()
                stopper.join()

        runner = self.runner(workers=1, on_event=on_event)
        with self.assertRaises(StateError) as cm:
            runner.run()
        self.assertEqual(cm.exception.name, "BF_E_STATE")
        self.assertEqual(cm.exception.run_id, 1)
        self.assertIn("stopped", kinds)
        self.assertLess(kinds.count("batch_done"), 4)
        self.assertEqual(runner.run(), 1)
        self.assertEqual(self.run_state(1), ("awaiting_approval", ["validated"] * 4))

    def test_plan_from_brief_is_the_plan_the_runner_runs(self):
        with Plan.from_brief(self.brief, self.warehouse) as plan, \
                Plan.from_brief(self.brief) as alone:
            self.assertEqual([b.label for b in plan], LABELS)
            self.assertEqual(plan[1].params, {"lo": 25, "hi": 50})
            self.assertEqual(alone.fingerprint, plan.fingerprint)
            run_id = self.runner().run()
            with Ledger(self.ledger, must_exist=True) as ledger:
                self.assertEqual(ledger.run(run_id).plan_fingerprint, plan.fingerprint)
        # Against the warehouse the brief's names are checked; from the brief alone they are not.
        with Brief.from_json(brief_json().replace('"table": "t"', '"table": "nosuch"')) as bad:
            with self.assertRaises(InvalidError) as cm:
                Plan.from_brief(bad, self.warehouse)
            self.assertIn("$.target.table", str(cm.exception))
            Plan.from_brief(bad).close()
        missing = os.path.join(self.dir, "missing.db")
        with self.assertRaises(NotFoundError):
            Plan.from_brief(self.brief, missing)
        self.assertFalse(os.path.exists(missing), "a missing warehouse was created")
        with self.assertRaises(TypeError):
            Plan.from_brief(None, self.warehouse)

    def test_new_starts_one_run_which_a_later_run_resumes(self):
        stop = [True]

        def on_event(event):
            if event["kind"] == "batch_done" and stop[0]:
                stop[0] = False
                runner.stop()

        runner = self.runner(workers=1, on_event=on_event)
        with self.assertRaises(StateError):
            runner.run()                                   # run 1, unfinished
        runner.close()
        stop[0] = True
        runner = self.runner(workers=1, new=True, on_event=on_event)
        with self.assertRaises(StateError) as cm:
            runner.run()                                   # new: run 2 in its place, stopped
        self.assertEqual(cm.exception.run_id, 2)
        self.assertIn("run again to resume", str(cm.exception))
        # The next run() resumed nothing: it cancelled run 2 and started run 3.
        self.assertEqual(runner.run(), 2)
        self.assertEqual(self.run_state(1)[0], "cancelled")
        self.assertEqual(self.run_state(2), ("awaiting_approval", ["validated"] * 4))

    def test_closed_handles(self):
        runner = self.runner()
        runner.close()
        with self.assertRaises(ValueError) as cm:
            runner.run()
        self.assertIn("the runner is closed", str(cm.exception))
        runner.stop()  # nothing to stop: no error
        runner.close()  # twice is fine
        other = Runner(self.ledger, self.warehouse)
        self.addCleanup(other.close)
        brief = Brief.from_json(brief_json())
        brief.close()
        with self.assertRaises(ValueError) as cm:
            other.set_brief(brief)
        self.assertIn("the brief is closed", str(cm.exception))

    def test_out_of_range_integers_are_refused_before_the_call(self):
        # ctypes would wrap each: run 2**64 + 1 approved as run 1, a slice of -1 as SIZE_MAX.
        for kwargs, error, message in (
                ({"workers": -1}, ValueError, "workers must not be negative"),
                ({"workers": 2**32}, OverflowError,
                 "workers is out of range for unsigned int (0..4294967295); got 4294967296"),
                ({"poll_s": 10**400}, OverflowError, "poll_s is too large for a double"),
                ({"target_batch_s": 10**400}, OverflowError, "target_batch_s")):
            with self.subTest(**kwargs), self.assertRaises(error) as cm:
                Runner(self.ledger, self.warehouse, **kwargs)
            self.assertIn(message, str(cm.exception))
        self.assertFalse(os.path.exists(self.ledger), "a refused runner created its ledger")

        runner = self.runner()
        with self.assertRaises(ValueError) as cm:
            runner.test_slice(-1)
        self.assertEqual(str(cm.exception),
                         "batches must not be negative (it is a C size_t); got -1")
        with self.assertRaises(OverflowError) as cm:
            runner.test_slice(2**64 + 2)
        self.assertIn("batches is out of range for size_t", str(cm.exception))
        run_id = runner.run()
        before = self.rows()
        for call, name in ((lambda: runner.approve(2**64 + run_id, "raj@example.com"), "run_id"),
                           (lambda: runner.approve(2**70, "raj@example.com"), "run_id"),
                           (lambda: runner.rollback(2**64 + run_id), "run_id"),
                           (lambda: runner.rollback(run_id, -2**63 - 1), "batch_id"),
                           (lambda: runner.cleanup(-2**64 + run_id), "run_id")):
            with self.subTest(name=name), self.assertRaises(OverflowError) as cm:
                call()
            self.assertIn("%s is out of range for int64_t" % name, str(cm.exception))
        self.assertEqual(self.run_state(run_id)[0], "awaiting_approval")
        self.assertEqual(self.rows(), before)
        runner.approve(run_id, "raj@example.com")
        self.assertEqual(self.run_state(run_id)[0], "completed")

    def test_null_bytes_in_strings_are_refused(self):
        # C would read each only up to the null byte: approve as raj, report run 1.
        with self.assertRaises(ValueError) as cm:
            Runner(self.ledger, self.warehouse, operator="ana@example.com\0x")
        self.assertIn("operator holds a null byte at index 15", str(cm.exception))
        with self.assertRaises(ValueError):
            Runner(self.ledger + "\0junk", self.warehouse)
        self.assertEqual(sorted(os.listdir(self.dir)), ["w.db"], "a refused runner made a file")
        runner = self.runner()
        run_id = runner.run()
        with self.assertRaises(ValueError) as cm:
            runner.approve(run_id, "raj@example.com\0mallory")
        self.assertEqual(str(cm.exception),
                         "reviewer holds a null byte at index 15, where C would end it")
        self.assertEqual(self.run_state(run_id)[0], "awaiting_approval")
        for ledger in (self.ledger, Ledger(self.ledger)):
            with self.assertRaises(ValueError) as cm:
                report_run(ledger, "%d\0zzz" % run_id)
            self.assertIn("run holds a null byte at index 1", str(cm.exception))
            if isinstance(ledger, Ledger):
                ledger.close()

    def test_handles_of_another_type_are_refused(self):
        # None failed with AttributeError; a Plan reached C as the brief.
        with Runner(self.ledger, self.warehouse) as runner, \
                libbackfill.Plan.from_json(read_key_plan()) as plan:
            for given, name in ((None, "NoneType"), (plan, "Plan"), (brief_json(), "str")):
                with self.subTest(brief=name), self.assertRaises(TypeError) as cm:
                    runner.set_brief(given)
                self.assertEqual(str(cm.exception), "brief must be a Brief, not %s" % name)
                with self.subTest(report_brief=name), self.assertRaises(TypeError) as cm:
                    report_brief(given)
                self.assertEqual(str(cm.exception), "brief must be a Brief, not %s" % name)
            with self.assertRaises(StateError):  # still usable, and still without a brief
                runner.run()

    def test_runner_needs_a_brief(self):
        runner = Runner(self.ledger, self.warehouse)
        self.addCleanup(runner.close)
        with self.assertRaises(StateError) as cm:
            runner.run()
        self.assertIn("nothing to run", str(cm.exception))
        with self.assertRaises(libbackfill.NotFoundError) as cm:
            Runner(self.ledger, os.path.join(self.dir, "missing.db"))
        self.assertIn("missing.db: no such file", str(cm.exception))


class BriefAndReportTest(unittest.TestCase):
    def test_brief_from_file_and_json(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "b.json")
            with open(path, "w") as f:
                f.write(brief_json())
            with Brief.from_file(path) as brief:
                self.assertEqual(brief.name, "t-fix")
                self.assertEqual(json.loads(brief.to_json())["target"]["table"], "t")
            with self.assertRaises(libbackfill.NotFoundError) as cm:
                Brief.from_file(os.path.join(d, "missing.json"))
            self.assertIn("missing.json: no such file", str(cm.exception))

    def test_brief_errors(self):
        with self.assertRaises(ParseError):
            Brief.from_json("{")
        with self.assertRaises(InvalidError) as cm:
            Brief.from_json(brief_json().replace('"risk"', '"rsik"'))
        self.assertIn("rsik", str(cm.exception))

    def test_from_json_takes_str_or_bytes_only(self):
        # bytes() made five null bytes of 5 and b"{" of [123]: a ParseError about the JSON.
        text = brief_json()
        for given in (text, text.encode("utf-8"), bytearray(text.encode("utf-8"))):
            with self.subTest(type=type(given).__name__), Brief.from_json(given) as brief:
                self.assertEqual(brief.name, "t-fix")
        for given, name in ((5, "int"), ([123], "list"), (None, "NoneType")):
            with self.subTest(given=given), self.assertRaises(TypeError) as cm:
                Brief.from_json(given)
            self.assertEqual(str(cm.exception), "brief JSON must be str or bytes, not %s" % name)
        with self.assertRaises(ParseError):  # the length goes with it: the library sees it
            Brief.from_json(text.encode("utf-8") + b"\0")

    def test_report_brief(self):
        with Brief.from_json(brief_json()) as brief:
            text = report_brief(brief)
            self.assertIn("Announcement: t-fix", text)
            self.assertIn("not started", text)
            data = json.loads(report_brief(brief, format="json"))
            self.assertEqual(data["format"], "backfill-report/1")
            with self.assertRaises(InvalidError):
                report_brief(brief, "after")
            with self.assertRaises(ValueError) as cm:
                report_brief(brief, format="md")
            self.assertIn("'markdown', 'json'", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

import json
import os
import unittest

import libbackfill
from support import run_child

SOURCE_ROOT = os.environ.get("BF_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))
KEY_PLAN = os.path.join(SOURCE_ROOT, "tests/fuzz/corpus/plan_json/key-plan.json")


def read_key_plan():
    with open(KEY_PLAN) as f:
        return f.read()


class CommonTest(unittest.TestCase):
    def test_version_is_the_built_library(self):
        self.assertEqual(libbackfill.version(), os.environ.get("BF_VERSION", libbackfill.version()))
        major, minor, patch = (int(x) for x in libbackfill.version().split("."))
        self.assertEqual(libbackfill.version_number(), major * 10000 + minor * 100 + patch)

    def test_errstr_names_codes(self):
        self.assertEqual(libbackfill.errstr(-8), "BF_E_LEASE_LOST")
        self.assertEqual(libbackfill.errstr(-99), "BF_E_UNKNOWN")

    def test_errstr_refuses_codes_out_of_int_range(self):
        # ctypes would pass the low 32 bits: 2**40 named BF_OK, 2**32 - 8 BF_E_LEASE_LOST.
        for code in (2**40, 2**32 - 8, -2**31 - 1):
            with self.subTest(code=code), self.assertRaises(OverflowError) as caught:
                libbackfill.errstr(code)
            self.assertIn("code is out of range for int", str(caught.exception))
        self.assertEqual(libbackfill.errstr(-2**31), "BF_E_UNKNOWN")
        with self.assertRaises(TypeError):
            libbackfill.errstr("-8")


class PlanTest(unittest.TestCase):
    def test_reads_a_plan_and_its_batches(self):
        text = read_key_plan()
        recorded = json.loads(text)
        with libbackfill.Plan.from_json(text) as plan:
            self.assertEqual(len(plan), 3)
            self.assertEqual(plan.dimension, "key")
            self.assertEqual(plan.column, "order_id")
            self.assertEqual(plan.fingerprint, recorded["fingerprint"])
            labels = [b.label for b in plan]
            self.assertEqual(labels, ["order_id [0, 10)", "order_id [10, 20)", "order_id [20, 30)"])
            second = plan[1]
            self.assertEqual((second.ordinal, second.lo, second.hi), (1, 10, 20))
            self.assertEqual(second.params, {"lo": 10, "hi": 20})
            self.assertEqual(plan[-1].label, "order_id [20, 30)")
            with self.assertRaises(IndexError):
                plan[3]

    def test_round_trip_keeps_fingerprint(self):
        with libbackfill.Plan.from_json(read_key_plan()) as plan:
            again = plan.to_json()
            with libbackfill.Plan.from_json(again) as back:
                self.assertEqual(back.fingerprint, plan.fingerprint)
                self.assertEqual(back.to_json(), again)

    def test_edited_plan_raises_conflict_with_message(self):
        edited = read_key_plan().replace("order_id [10, 20)", "order_id [10, 21)")
        with self.assertRaises(libbackfill.ConflictError) as caught:
            libbackfill.Plan.from_json(edited)
        self.assertEqual(caught.exception.code, -6)
        self.assertEqual(caught.exception.name, "BF_E_CONFLICT")
        self.assertIn("the plan was edited", str(caught.exception))

    def test_syntax_error_raises_parse_error(self):
        with self.assertRaises(libbackfill.ParseError) as caught:
            libbackfill.Plan.from_json('{"format": ')
        self.assertIn("plan: 1:", str(caught.exception))
        self.assertIsInstance(caught.exception, libbackfill.BackfillError)

    def test_from_json_takes_str_or_bytes_as_brief_from_json_does(self):
        text = read_key_plan()
        for given in (text.encode("utf-8"), bytearray(text.encode("utf-8"))):
            with self.subTest(type=type(given).__name__), \
                    libbackfill.Plan.from_json(given) as plan:
                self.assertEqual(len(plan), 3)
        for given, name in ((5, "int"), ([123], "list"), (None, "NoneType")):
            with self.subTest(given=given), self.assertRaises(TypeError) as caught:
                libbackfill.Plan.from_json(given)
            self.assertEqual(str(caught.exception), "plan JSON must be str or bytes, not %s" % name)
        with self.assertRaises(ValueError) as caught:
            libbackfill.Plan.from_json(text.encode("utf-8") + b"\0{}")
        self.assertIn("plan JSON holds a null byte at index %d" % len(text), str(caught.exception))

    def test_closed_plan_refuses_use(self):
        plan = libbackfill.Plan.from_json(read_key_plan())
        plan.close()
        plan.close()
        with self.assertRaises(ValueError):
            len(plan)

    def test_batches_outlive_their_plan(self):
        # Batches taken inside a with block are used after it: they were read
        # through pointers into the freed plan (garbage, another plan's batch,
        # or a crash). A child process, so that a crash fails only this test.
        out = run_child(self, """
            import json, os, libbackfill
            corpus = os.path.join(os.environ["BF_SOURCE_ROOT"], "tests/fuzz/corpus/plan_json")
            def read(name):
                with open(os.path.join(corpus, name)) as f:
                    return f.read()
            with libbackfill.Plan.from_json(read("key-plan.json")) as plan:
                batches = list(plan)
                last = plan[-1]
            others = [libbackfill.Plan.from_json(read("key-plan-width15.json")) for _ in range(50)]
            print(json.dumps([[b.ordinal, b.label, b.lo, b.hi, b.params] for b in batches + [last]]))
            """)
        self.assertEqual(json.loads(out), [
            [0, "order_id [0, 10)", 0, 10, {"lo": 0, "hi": 10}],
            [1, "order_id [10, 20)", 10, 20, {"lo": 10, "hi": 20}],
            [2, "order_id [20, 30)", 20, 30, {"lo": 20, "hi": 30}],
            [2, "order_id [20, 30)", 20, 30, {"lo": 20, "hi": 30}],
        ])


if __name__ == "__main__":
    unittest.main()

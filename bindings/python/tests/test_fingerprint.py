"""The binding computes the fingerprints documented in docs/fingerprint.md.

The vectors are read from the documentation itself, so the docs, the C
library and the binding cannot drift apart."""

import os
import re
import unittest

import libbackfill
from libbackfill import Fingerprint

SOURCE_ROOT = os.environ.get("BF_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../../.."))


def parse_value(token):
    token = token.strip()
    if token == "NULL":
        return None
    if token.startswith("x'"):
        return bytes.fromhex(token[2:-1])
    if token.startswith("'"):
        return token[1:-1].replace("\\|", "|")
    if re.fullmatch(r"-?\d+", token):
        return int(token)
    return float(token)


def parse_row(text):
    """One row in the docs' notation: (42, -0.0, 'héllo', x'00ff', NULL)."""
    tokens, cur, quoted = [], "", False
    for ch in text.strip()[1:-1]:
        if ch == "'":
            quoted = not quoted
        if ch == "," and not quoted:
            tokens.append(cur)
            cur = ""
        else:
            cur += ch
    tokens.append(cur)
    return [parse_value(t) for t in tokens]


def documented_vectors():
    with open(os.path.join(SOURCE_ROOT, "docs/fingerprint.md"), encoding="utf-8") as f:
        doc = f.read()
    table = doc[doc.index("## Test vectors"):]
    vectors = []
    for line in table.splitlines():
        m = re.match(r"\| (.*) \| `(\d+:[0-9a-f]{32})` \|$", line)
        if not m:
            continue
        # Rows are the backquoted cells; "*(none)*" has none, and notes stand outside quotes.
        rows = [parse_row(r) for r in re.findall(r"`(\(.*?\))`", m.group(1))]
        vectors.append((m.group(1), rows, m.group(2)))
    return vectors


class FingerprintTest(unittest.TestCase):
    def test_documented_vectors(self):
        vectors = documented_vectors()
        self.assertGreaterEqual(len(vectors), 9, "the docs' vector table was not found")
        for description, rows, expected in vectors:
            with self.subTest(rows=description):
                self.assertEqual(str(Fingerprint(rows)), expected)
                self.assertEqual(Fingerprint.parse(expected), Fingerprint(rows))

    def test_order_independent_multiset(self):
        rows = [(1, "a"), (2, "b"), (2, "b"), (3, None)]
        self.assertEqual(Fingerprint(rows), Fingerprint(reversed(rows)))
        self.assertNotEqual(Fingerprint(rows), Fingerprint(rows[:3] + rows[3:] + [(2, "b")]))
        self.assertEqual(Fingerprint(rows).rows, 4)

    def test_types_are_distinct(self):
        self.assertNotEqual(Fingerprint([(1,)]), Fingerprint([(1.0,)]))
        self.assertNotEqual(Fingerprint([(None,)]), Fingerprint([("NULL",)]))
        self.assertNotEqual(Fingerprint([(None,)]), Fingerprint([(0,)]))
        self.assertNotEqual(Fingerprint([("ab",)]), Fingerprint([(b"ab",)]))
        self.assertEqual(Fingerprint([(-0.0,)]), Fingerprint([(0.0,)]))
        self.assertNotEqual(Fingerprint([("a|b", "c")]), Fingerprint([("a", "b|c")]))

    def test_sums_and_differences(self):
        a, b = Fingerprint([(1,), (2,)]), Fingerprint([(3,)])
        self.assertEqual(a + b, Fingerprint([(1,), (2,), (3,)]))
        self.assertEqual((a + b) - b, a)
        self.assertEqual(Fingerprint([(1,), (2,)]).remove_row((2,)), Fingerprint([(1,)]))
        for other in (None, "1:00000000000000000000000000000000"):
            # None failed with AttributeError: 'NoneType' object has no attribute '_fp'.
            with self.subTest(other=other), self.assertRaises(TypeError) as caught:
                a + other
            self.assertIn("unsupported operand type(s) for +", str(caught.exception))
            with self.assertRaises(TypeError):
                a - other

    def test_bad_input(self):
        with self.assertRaises(libbackfill.ParseError):
            Fingerprint.parse("12:xyz")
        with self.assertRaises(TypeError):
            Fingerprint([(True,)])
        with self.assertRaises(TypeError):
            Fingerprint([({},)])
        # A row written without its comma is a string, not a row of its characters.
        with self.assertRaisesRegex(TypeError, r"a row is a sequence of values, not a str: write \('abc',\)"):
            Fingerprint(["abc"])
        with self.assertRaises(TypeError):
            Fingerprint([b"ab"])
        self.assertEqual(Fingerprint([("abc",)]).rows, 1)

    def test_integers_outside_int64_are_refused(self):
        # ctypes would keep the low 64 bits: 2**64 + 1 fingerprinted as 1.
        for value in (2**63, 2**64 + 1, -2**63 - 1, 2**70, -2**64):
            with self.subTest(value=value), self.assertRaises(OverflowError) as caught:
                Fingerprint([(value,)])
            self.assertIn("row value 0 is out of range for int64_t", str(caught.exception))
        with self.assertRaises(OverflowError) as caught:
            Fingerprint([("a", 2**64 + 2)])
        self.assertIn("row value 1", str(caught.exception))
        self.assertIn("got 18446744073709551618", str(caught.exception))
        # A huge value is named by its size (str() refuses past 4300 digits).
        with self.assertRaises(OverflowError) as caught:
            Fingerprint([(10**5000,)])
        self.assertIn("an integer of 16610 bits", str(caught.exception))
        # The row is refused whole: nothing of it is added or removed.
        fp = Fingerprint([(1,)])
        for change in (fp.add_row, fp.remove_row):
            with self.assertRaises(OverflowError):
                change((1, 2**64 + 1))
        self.assertEqual((fp, fp.rows), (Fingerprint([(1,)]), 1))
        # The ends of the range are values of their own.
        top, bottom = Fingerprint([(2**63 - 1,)]), Fingerprint([(-2**63,)])
        self.assertNotEqual(top, bottom)
        self.assertNotEqual(top, Fingerprint([(-1,)]))
        self.assertNotEqual(bottom, Fingerprint([(0,)]))

    def test_parse_refuses_a_null_byte(self):
        text = str(Fingerprint([(1,)]))
        with self.assertRaises(ValueError) as caught:
            Fingerprint.parse(text + "\0junk")
        self.assertIn("fingerprint text holds a null byte at index %d" % len(text),
                      str(caught.exception))
        self.assertEqual(Fingerprint.parse(text), Fingerprint([(1,)]))


if __name__ == "__main__":
    unittest.main()

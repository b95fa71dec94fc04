package backfill

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The vectors are read from docs/fingerprint.md itself, so the docs, the C
// library and the binding cannot drift apart.
func documentedVectors(t *testing.T) [][2]string {
	root := os.Getenv("BF_SOURCE_ROOT")
	if root == "" {
		root = "../../.."
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs/fingerprint.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	text = text[strings.Index(text, "## Test vectors"):]
	line := regexp.MustCompile("(?m)^\\| (.*) \\| `(\\d+:[0-9a-f]{32})` \\|$")
	var out [][2]string
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		out = append(out, [2]string{m[1], m[2]})
	}
	return out
}

func parseValue(t *testing.T, tok string) interface{} {
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "NULL":
		return nil
	case strings.HasPrefix(tok, "x'"):
		b, err := hex.DecodeString(tok[2 : len(tok)-1])
		if err != nil {
			t.Fatal(err)
		}
		return b
	case strings.HasPrefix(tok, "'"):
		return strings.ReplaceAll(tok[1:len(tok)-1], "\\|", "|")
	}
	if i, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		t.Fatalf("unreadable value %q", tok)
	}
	return f
}

// parseRows reads the rows of a table cell: `(1, 'a')`, `(2, 'b')`.
func parseRows(t *testing.T, cell string) [][]interface{} {
	var rows [][]interface{}
	for _, m := range regexp.MustCompile("`(\\(.*?\\))`").FindAllStringSubmatch(cell, -1) {
		inner := m[1][1 : len(m[1])-1]
		var row []interface{}
		cur, quoted := "", false
		for _, ch := range inner {
			if ch == '\'' {
				quoted = !quoted
			}
			if ch == ',' && !quoted {
				row = append(row, parseValue(t, cur))
				cur = ""
			} else {
				cur += string(ch)
			}
		}
		rows = append(rows, append(row, parseValue(t, cur)))
	}
	return rows
}

func TestDocumentedVectors(t *testing.T) {
	vectors := documentedVectors(t)
	if len(vectors) < 9 {
		t.Fatalf("found %d vectors in docs/fingerprint.md", len(vectors))
	}
	for _, v := range vectors {
		f, err := FingerprintRows(parseRows(t, v[0]))
		if err != nil {
			t.Fatal(err)
		}
		if f.String() != v[1] {
			t.Errorf("%s: got %s, documented %s", v[0], f, v[1])
		}
		parsed, err := ParseFingerprint(v[1])
		if err != nil || !parsed.Equal(f) {
			t.Errorf("%s: parsing %s gave %v, %v", v[0], v[1], parsed, err)
		}
	}
}

func TestMultisetProperties(t *testing.T) {
	a, _ := FingerprintRows([][]interface{}{{1, "a"}, {2, "b"}, {2, "b"}})
	b, _ := FingerprintRows([][]interface{}{{2, "b"}, {1, "a"}, {2, "b"}})
	if !a.Equal(b) || a.Rows() != 3 {
		t.Fatalf("order changed the fingerprint: %s vs %s", a, b)
	}
	if err := b.RemoveRow(2, "b"); err != nil {
		t.Fatal(err)
	}
	if a.Equal(b) || b.Rows() != 2 {
		t.Fatalf("a duplicate row did not count: %s vs %s", a, b)
	}
	one, _ := FingerprintRows([][]interface{}{{1}})
	oneReal, _ := FingerprintRows([][]interface{}{{1.0}})
	if one.Equal(oneReal) {
		t.Fatal("1 and 1.0 fingerprint alike")
	}
	if _, err := FingerprintRows([][]interface{}{{true}}); err == nil {
		t.Fatal("a bool was fingerprinted")
	}
	if _, err := ParseFingerprint("12:xyz"); err == nil {
		t.Fatal("a malformed fingerprint parsed")
	}
	// C would read the text only up to the NUL byte, and parse it.
	_, err := ParseFingerprint(one.String() + "\x00junk")
	wantRefused(t, "ParseFingerprint(NUL)", err,
		fmt.Sprintf("fingerprint text holds a NUL byte at index %d", len(one.String())))
}

package backfill

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var sliceLabels = []string{"id [0, 25)", "id [25, 50)", "id [50, 75)", "id [75, 100)"}

// testBriefJSON is a key brief over ids [0, 100) in four batches of 25 that
// copies v = 3 * id from src into t; rowCount is its row_count check.
func testBriefJSON(name, rowCount string) string {
	return `{"format": "backfill-brief/1", "name": "` + name + `", "reason": "v was never computed.",
 "owner": "ana@example.com", "reviewer": "raj@example.com", "risk": "enrichment",
 "code_version": "git:abc123",
 "target": {"table": "t", "key": ["id"], "columns": ["v"]},
 "sources": ["src"],
 "scope": {"keys": {"column": "id", "start": 0, "end": 100}},
 "batching": {"by": "key", "width": 25, "max_concurrency": 2},
 "write": {"strategy": "partition_overwrite", "snapshot": true},
 "job": {"select": "SELECT id, v FROM src WHERE id >= :lo AND id < :hi"},
 "validation": [{"check": "unique"}, ` + rowCount + `],
 "rollback": {"plan": "Per-batch pre-images.", "retention_days": 0},
 "communication": {"stakeholders": ["data"], "channel": "#data"}}`
}

const goodRowCount = `{"check": "row_count", "min": 1}`

type warehouse struct {
	t      *testing.T
	path   string
	ledger string
}

func sqlite(t *testing.T, db, sql string) string {
	t.Helper()
	out, err := exec.Command("sqlite3", db, sql).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", db, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newWarehouse builds src (v = 3 * id for ids 0..99) and t (v = -1 on the
// same ids, and id 500 outside the brief's scope).
func newWarehouse(t *testing.T) *warehouse {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("the sqlite3 command is not installed")
	}
	dir := t.TempDir()
	w := &warehouse{t: t, path: filepath.Join(dir, "w.db"), ledger: filepath.Join(dir, "w.db.ledger")}
	sqlite(t, w.path, `
CREATE TABLE src (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99)
INSERT INTO src SELECT i, i * 3 FROM n;
INSERT INTO t SELECT id, -1 FROM src;
INSERT INTO t VALUES (500, 7);`)
	return w
}

// rows is t's content, one "id|v" line per row in id order.
func (w *warehouse) rows() string {
	return sqlite(w.t, w.path, "SELECT id, v FROM t ORDER BY id")
}

func (w *warehouse) fixed() string {
	var b strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "%d|%d\n", i, 3*i)
	}
	return b.String() + "500|7"
}

func (w *warehouse) runner(opts RunnerOptions, briefJSON string) *Runner {
	t := w.t
	t.Helper()
	if opts.Operator == "" {
		opts.Operator = "ana@example.com"
	}
	r, err := NewRunner(w.ledger, w.path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	b, err := BriefFromJSON(briefJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := r.SetBrief(b); err != nil {
		t.Fatal(err)
	}
	return r
}

// openLedger opens the runner's ledger, which must exist, until the test ends.
func (w *warehouse) openLedger() *Ledger {
	w.t.Helper()
	l, err := OpenLedger(w.ledger, LedgerOptions{MustExist: true})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { l.Close() })
	return l
}

// state is the run's state and its batches' states, read from the ledger.
func (w *warehouse) state(id int64) (string, []string) {
	t := w.t
	t.Helper()
	l := w.openLedger()
	defer l.Close() // at once: a test reads the state many times
	run, err := l.Run(fmt.Sprint(id))
	if err != nil {
		t.Fatal(err)
	}
	batches, err := run.Batches("")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, b := range batches {
		states = append(states, b.State)
	}
	return run.State(), states
}

var allValidated = []string{"validated", "validated", "validated", "validated"}

func TestRunnerRunsToAwaitingApprovalWithEventsInOrder(t *testing.T) {
	w := newWarehouse(t)
	var events []RunEvent
	r := w.runner(RunnerOptions{Workers: 1, OnEvent: func(e RunEvent) { events = append(events, e) }},
		testBriefJSON("t-fix", goodRowCount))
	id, err := r.Run()
	if err != nil || id != 1 {
		t.Fatalf("Run: %d, %v", id, err)
	}
	var kinds, done []string
	for _, e := range events {
		if e.RunID != id {
			t.Errorf("event %s of run %d", e.Kind, e.RunID)
		}
		var j map[string]interface{}
		if err := json.Unmarshal([]byte(e.JSON), &j); err != nil || j["event"] != e.Kind {
			t.Errorf("event %s: JSON %s (%v)", e.Kind, e.JSON, err)
		}
		if e.Kind == "progress" {
			continue
		}
		kinds = append(kinds, e.Kind)
		if e.Kind == "batch_done" {
			done = append(done, e.BatchLabel)
			if e.RowsWritten != 25 || j["batch"] != e.BatchLabel {
				t.Errorf("batch_done %s: %d rows, JSON %s", e.BatchLabel, e.RowsWritten, e.JSON)
			}
		}
	}
	want := []string{"started"}
	for i := 0; i < 4; i++ {
		want = append(want, "batch_started", "batch_done")
	}
	want = append(want, "awaiting_approval")
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
	sort.Strings(done)
	if !reflect.DeepEqual(done, sliceLabels) {
		t.Errorf("batches done %v", done)
	}
	if s, b := w.state(id); s != "awaiting_approval" || !reflect.DeepEqual(b, allValidated) {
		t.Errorf("run %s, batches %v", s, b)
	}
	if got := w.rows(); got != w.fixed() {
		t.Errorf("t after the run:\n%s", got)
	}
}

func TestRunnerFailingCheckIsValidation(t *testing.T) {
	w := newWarehouse(t)
	r := w.runner(RunnerOptions{}, testBriefJSON("t-bad", `{"check": "row_count", "max": 10}`))
	id, err := r.Run()
	var bfErr *Error
	if !errors.Is(err, ErrValidation) || !errors.As(err, &bfErr) {
		t.Fatalf("Run: %v, want BF_E_VALIDATION", err)
	}
	if id != 1 {
		t.Errorf("run id %d with the error", id)
	}
	if !strings.HasPrefix(err.Error(), "BF_E_VALIDATION: ") ||
		!strings.Contains(bfErr.Message, "check row_count: table t has 25 rows in batch id [") ||
		!strings.Contains(bfErr.Message, "row_count expects 0..10") {
		t.Errorf("message %q", err)
	}
	if s, _ := w.state(id); s != "paused" {
		t.Errorf("run %s after a failed check, want paused", s)
	}
}

func TestRunnerApproveReportRollbackCleanup(t *testing.T) {
	w := newWarehouse(t)
	before := w.rows()
	r := w.runner(RunnerOptions{}, testBriefJSON("t-fix", goodRowCount))
	id, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	err = r.Approve(id, "ana@example.com")
	if !errors.Is(err, ErrBlocked) ||
		!strings.Contains(err.Error(), "ana@example.com is not the brief's reviewer (raj@example.com)") {
		t.Fatalf("approve by the operator: %v", err)
	}
	if s, _ := w.state(id); s != "awaiting_approval" {
		t.Errorf("run %s after a refused approval", s)
	}
	if err := r.Approve(id, "raj@example.com"); err != nil {
		t.Fatal(err)
	}
	if s, _ := w.state(id); s != "completed" {
		t.Errorf("run %s after approval", s)
	}

	l := w.openLedger()
	note, err := ReportRun(l, fmt.Sprint(id), "after", "markdown")
	if err != nil || !strings.Contains(note, "Definition of done") {
		t.Fatalf("change note (%v):\n%s", err, note)
	}
	if byName, _ := ReportRun(l, "t-fix", "after", "markdown"); byName != note {
		t.Errorf("the report by brief name differs")
	}
	text, err := ReportRun(l, "1", "after", "json")
	var report map[string]interface{}
	if err != nil || json.Unmarshal([]byte(text), &report) != nil || report["format"] != "backfill-report/1" {
		t.Errorf("JSON report (%v): %.200s", err, text)
	}
	if _, err := ReportRun(l, "1", "later", "markdown"); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "before, during, after") {
		t.Errorf("stage later: %v", err)
	}
	if _, err := ReportRun(l, "99", "after", "markdown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("run 99: %v", err)
	}

	result, err := r.Rollback(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, b := range result["batches"].([]interface{}) {
		b := b.(map[string]interface{})
		labels = append(labels, b["label"].(string))
		if b["restored"] != true {
			t.Errorf("batch %v not restored", b)
		}
	}
	sort.Strings(labels)
	if result["format"] != "backfill-rollback/1" || !reflect.DeepEqual(labels, sliceLabels) {
		t.Errorf("rollback: %v", result)
	}
	if got := w.rows(); got != before {
		t.Errorf("t after the rollback differs from before the run:\n%s", got)
	}
	if s, _ := w.state(id); s != "rolled_back" {
		t.Errorf("run %s after the rollback", s)
	}
	if _, err := r.Rollback(id, 0); !errors.Is(err, ErrState) {
		t.Errorf("second rollback: %v", err)
	}
	cleaned, err := r.Cleanup(id)
	if err != nil || cleaned["format"] != "backfill-cleanup/1" || cleaned["state"] != "rolled_back" {
		t.Errorf("cleanup (%v): %v", err, cleaned)
	}
}

func TestRunnerTestSlice(t *testing.T) {
	w := newWarehouse(t)
	before := w.rows()
	r := w.runner(RunnerOptions{}, testBriefJSON("t-fix", goodRowCount))
	result, err := r.TestSlice(2)
	if err != nil {
		t.Fatal(err)
	}
	if result["status"] != "pass" || len(result["batches"].([]interface{})) != 2 {
		t.Errorf("slice: %v", result)
	}
	if w.rows() != before {
		t.Errorf("the test slice wrote to the target")
	}
}

// C would read a string only up to a NUL byte (approve as raj, report run
// 1), and a Go conversion would take -1 for SIZE_MAX: each is refused
// before the library is called.
func TestRunnerRefusesNULBytesAndOutOfRangeIntegers(t *testing.T) {
	w := newWarehouse(t)
	dir := filepath.Dir(w.ledger)
	_, err := NewRunner(w.ledger+"\x00junk", w.path, RunnerOptions{})
	wantRefused(t, "NewRunner(NUL ledger path)", err,
		fmt.Sprintf("ledgerPath holds a NUL byte at index %d", len(w.ledger)))
	_, err = NewRunner(w.ledger, w.path+"\x00junk", RunnerOptions{})
	wantRefused(t, "NewRunner(NUL warehouse path)", err, "warehousePath holds a NUL byte")
	_, err = NewRunner(w.ledger, w.path, RunnerOptions{Operator: "ana@example.com\x00x"})
	wantRefused(t, "NewRunner(NUL operator)", err, "RunnerOptions.Operator holds a NUL byte at index 15")
	if strconv.IntSize == 64 {
		_, err = NewRunner(w.ledger, w.path, RunnerOptions{Workers: uint(uint64(1) << 32)})
		wantRefused(t, "NewRunner(Workers 2^32)", err,
			"RunnerOptions.Workers is out of range for unsigned int (0..4294967295); got 4294967296")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 1 || files[0] != w.path {
		t.Fatalf("refused runners left %v beside the warehouse", files)
	}
	if _, err := os.Stat(w.ledger); !os.IsNotExist(err) {
		t.Fatalf("the truncated ledger path %s exists (%v)", w.ledger, err)
	}

	before := w.rows()
	r := w.runner(RunnerOptions{}, testBriefJSON("t-fix", goodRowCount))
	result, err := r.TestSlice(-1)
	wantRefused(t, "TestSlice(-1)", err, "batches must not be negative (it is a C size_t); got -1")
	if result != nil {
		t.Errorf("TestSlice(-1) ran a slice: %v", result)
	}
	id, err := r.Run()
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, "Approve(NUL reviewer)", r.Approve(id, "raj@example.com\x00mallory"),
		"reviewer holds a NUL byte at index 15, where C would end it")
	if s, _ := w.state(id); s != "awaiting_approval" {
		t.Fatalf("run %s after an approval by raj@example.com\\x00mallory", s)
	}
	l := w.openLedger()
	note, err := ReportRun(l, fmt.Sprintf("%d\x00zzz", id), "after", "markdown")
	wantRefused(t, "ReportRun(NUL ref)", err, "ref holds a NUL byte at index 1")
	if note != "" {
		t.Errorf("ReportRun with a NUL ref reported:\n%.200s", note)
	}
	if err := r.Approve(id, "raj@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := w.rows(); got == before || got != w.fixed() {
		t.Errorf("t after the approval:\n%s", got)
	}
}

func TestRunnerPanicInOnEventSurfacesAfterRun(t *testing.T) {
	w := newWarehouse(t)
	armed := true
	var seen []string
	r := w.runner(RunnerOptions{Workers: 1, OnEvent: func(e RunEvent) {
		seen = append(seen, e.Kind)
		if armed && e.Kind == "batch_done" {
			panic("the host's callback failed")
		}
	}}, testBriefJSON("t-fix", goodRowCount))
	func() {
		defer func() {
			if v := recover(); v != "the host's callback failed" {
				t.Errorf("recovered %v", v)
			}
		}()
		r.Run()
		t.Error("Run returned instead of panicking")
	}()
	n := 0
	for _, k := range seen {
		if k == "batch_done" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("events passed after the panic: %v", seen)
	}
	s, batches := w.state(1)
	if s == "awaiting_approval" || s == "completed" {
		t.Errorf("run %s after the panic", s)
	}
	for _, b := range batches {
		if b == "running" {
			t.Errorf("a batch was left leased: %v", batches)
		}
	}
	armed = false
	if id, err := r.Run(); err != nil || id != 1 {
		t.Fatalf("Run again: %d, %v", id, err)
	}
	if s, b := w.state(1); s != "awaiting_approval" || !reflect.DeepEqual(b, allValidated) {
		t.Errorf("run %s, batches %v", s, b)
	}
	if got := w.rows(); got != w.fixed() {
		t.Errorf("t after the run:\n%s", got)
	}
}

func TestRunnerStopFromAnotherGoroutine(t *testing.T) {
	w := newWarehouse(t)
	var r *Runner
	var kinds []string
	stopping := true
	r = w.runner(RunnerOptions{Workers: 1, OnEvent: func(e RunEvent) {
		kinds = append(kinds, e.Kind)
		if e.Kind == "batch_done" && stopping {
			stopping = false
			stopped := make(chan struct{})
			go func() { r.Stop(); close(stopped) }()
			<-stopped
		}
	}}, testBriefJSON("t-fix", goodRowCount))
	id, err := r.Run()
	if !errors.Is(err, ErrState) || id != 1 {
		t.Fatalf("stopped Run: %d, %v", id, err)
	}
	if kinds[len(kinds)-1] != "stopped" {
		t.Errorf("events %v do not end with stopped", kinds)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2 := w.runner(RunnerOptions{}, testBriefJSON("t-fix", goodRowCount))
	if id, err := r2.Run(); err != nil || id != 1 {
		t.Fatalf("resumed Run: %d, %v", id, err)
	}
}

// PlanBrief makes the plan the runner runs, from the brief against the
// warehouse or from the brief alone.
func TestPlanBriefIsThePlanTheRunnerRuns(t *testing.T) {
	w := newWarehouse(t)
	b, err := BriefFromJSON(testBriefJSON("t-fix", goodRowCount))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	plan, err := PlanBrief(b, w.path)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	alone, err := PlanBrief(b, "")
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	second, _ := plan.Batch(1)
	if plan.Len() != 4 || second.Label != "id [25, 50)" || second.Params["hi"] != int64(50) ||
		alone.Fingerprint() != plan.Fingerprint() {
		t.Fatalf("plan of %d batches (%+v), %s and %s alone", plan.Len(), second,
			plan.Fingerprint(), alone.Fingerprint())
	}
	id, err := w.runner(RunnerOptions{}, testBriefJSON("t-fix", goodRowCount)).Run()
	if err != nil {
		t.Fatal(err)
	}
	run, err := w.openLedger().Run(fmt.Sprint(id))
	if err != nil || run.PlanFingerprint() != plan.Fingerprint() {
		t.Fatalf("the runner's run %d: %v, plan %s", id, err, run.PlanFingerprint())
	}

	bad, err := BriefFromJSON(strings.Replace(testBriefJSON("x", goodRowCount), `"table": "t"`, `"table": "nosuch"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := PlanBrief(bad, w.path); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "$.target.table") {
		t.Errorf("a brief naming a missing table: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	if _, err := PlanBrief(b, missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing warehouse: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a missing warehouse was created")
	}
	_, err = PlanBrief(nil, w.path)
	wantRefused(t, "PlanBrief(nil)", err, "brief must be a *backfill.Brief, not nil")
	_, err = PlanBrief(b, w.path+"\x00junk")
	wantRefused(t, "PlanBrief(NUL)", err, "warehousePath holds a NUL byte")
}

// New starts the runner's first run; a later Run resumes it, as the stop's
// "run again to resume" says, where it used to cancel it for another.
func TestRunnerNewStartsOneRunWhichALaterRunResumes(t *testing.T) {
	w := newWarehouse(t)
	stop := true
	var r *Runner
	onEvent := func(e RunEvent) {
		if e.Kind == "batch_done" && stop {
			stop = false
			r.Stop()
		}
	}
	r = w.runner(RunnerOptions{Workers: 1, OnEvent: onEvent}, testBriefJSON("t-fix", goodRowCount))
	if id, err := r.Run(); !errors.Is(err, ErrState) || id != 1 {
		t.Fatalf("stopped Run: %d, %v", id, err)
	}
	r.Close()
	stop = true
	r = w.runner(RunnerOptions{Workers: 1, New: true, OnEvent: onEvent}, testBriefJSON("t-fix", goodRowCount))
	id, err := r.Run()
	if !errors.Is(err, ErrState) || id != 2 || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("stopped new Run: %d, %v", id, err)
	}
	if id, err := r.Run(); err != nil || id != 2 {
		t.Fatalf("Run after the stop: %d, %v; want run 2 resumed", id, err)
	}
	if state, _ := w.state(1); state != "cancelled" {
		t.Errorf("run 1 is %s", state)
	}
	if state, batches := w.state(2); state != "awaiting_approval" || !reflect.DeepEqual(batches, allValidated) {
		t.Errorf("run 2 is %s, %v", state, batches)
	}
}

func TestRunnerClosedAndErrors(t *testing.T) {
	w := newWarehouse(t)
	r, err := NewRunner(w.ledger, w.path, RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "nothing to run") {
		t.Errorf("Run without a brief: %v", err)
	}
	r.Close()
	r.Close()
	r.Stop() // nothing to stop
	func() {
		defer func() {
			if v := recover(); v != "backfill: use of a closed Runner" {
				t.Errorf("recovered %v", v)
			}
		}()
		r.Run()
	}()
	if _, err := NewRunner(w.ledger, filepath.Join(t.TempDir(), "missing.db"), RunnerOptions{}); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "missing.db: no such file") {
		t.Errorf("missing warehouse: %v", err)
	}
}

// SetBrief refuses a nil brief, and a closed one's panic leaves the runner
// usable: it used to happen inside the call, which then stayed busy for good.
func TestRunnerSetBriefNilOrClosed(t *testing.T) {
	w := newWarehouse(t)
	r, err := NewRunner(w.ledger, w.path, RunnerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantRefused(t, "SetBrief(nil)", r.SetBrief(nil), "brief must be a *backfill.Brief, not nil")
	b, err := BriefFromJSON(testBriefJSON("t-fix", goodRowCount))
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	wantPanic(t, "SetBrief(closed)", "backfill: use of a closed Brief", func() { r.SetBrief(b) })
	if _, err := r.Run(); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "nothing to run") {
		t.Errorf("Run after SetBrief(closed): %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close after SetBrief(closed): %v", err)
	}
}

func TestBriefAndReportBrief(t *testing.T) {
	b, err := BriefFromJSON(testBriefJSON("t-fix", goodRowCount))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != "t-fix" {
		t.Errorf("name %q", b.Name())
	}
	text, err := ReportBrief(b, "before", "markdown")
	if err != nil || !strings.Contains(text, "Announcement: t-fix") {
		t.Errorf("announcement (%v):\n%s", err, text)
	}
	if _, err := ReportBrief(b, "after", "markdown"); !errors.Is(err, ErrInvalid) {
		t.Errorf("after from a brief: %v", err)
	}
	if _, err := ReportBrief(b, "before", "md"); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "markdown, json") {
		t.Errorf("format md: %v", err)
	}
	if _, err := BriefFromJSON("{"); !errors.Is(err, ErrParse) {
		t.Errorf("{: %v", err)
	}
	if _, err := BriefFromJSON(strings.Replace(testBriefJSON("x", goodRowCount), `"risk"`, `"rsik"`, 1)); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "rsik") {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := BriefFromFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	// A path is read up to a NUL byte; JSON text goes with its length, so the library sees the NUL.
	dir := t.TempDir()
	path := filepath.Join(dir, "b.json")
	if err := os.WriteFile(path, []byte(testBriefJSON("t-fix", goodRowCount)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = BriefFromFile(path + "\x00.bak")
	wantRefused(t, "BriefFromFile(NUL path)", err, fmt.Sprintf("path holds a NUL byte at index %d", len(path)))
	if _, err := BriefFromJSON(testBriefJSON("t-fix", goodRowCount) + "\x00junk"); !errors.Is(err, ErrParse) {
		t.Errorf("JSON with a NUL byte after it: %v", err)
	}
}

package backfill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func recordedPlan(t *testing.T, name string) *Plan {
	root := os.Getenv("BF_SOURCE_ROOT")
	if root == "" {
		root = "../../.."
	}
	data, err := os.ReadFile(filepath.Join(root, "tests/fuzz/corpus/plan_json", name))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanFromJSON(string(data))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func openTestLedger(t *testing.T) *Ledger {
	l, err := OpenLedger(filepath.Join(t.TempDir(), "ledger.db"),
		LedgerOptions{DurabilityNormal: true, Actor: "go-test"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// C would read a string only up to a NUL byte, and a Go conversion would
// keep the low 32 bits of a count: each is refused before the library is called.
func TestLedgerRefusesNULBytesAndOutOfRangeIntegers(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.db")
	_, err := OpenLedger(path+"\x00.bak", LedgerOptions{})
	wantRefused(t, "OpenLedger(NUL path)", err,
		fmt.Sprintf("path holds a NUL byte at index %d, where C would end it", len(path)))
	_, err = OpenLedger(path, LedgerOptions{Actor: "go-test\x00mallory"})
	wantRefused(t, "OpenLedger(NUL actor)", err, "LedgerOptions.Actor holds a NUL byte at index 7")
	if strconv.IntSize == 64 {
		_, err = OpenLedger(path, LedgerOptions{BusyTimeoutMs: int(int64(1) << 31)})
		wantRefused(t, "OpenLedger(BusyTimeoutMs 2^31)", err,
			"LedgerOptions.BusyTimeoutMs is out of range for int (-2147483648..2147483647); got 2147483648")
	}
	if made, _ := filepath.Glob(filepath.Join(dir, "*")); len(made) != 0 {
		t.Fatalf("a refused OpenLedger made %v", made)
	}

	l, err := OpenLedger(path, LedgerOptions{Actor: "go-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	specs := map[string]RunSpec{
		"RunSpec.BriefName":   {BriefName: "orders-fix\x00x"},
		"RunSpec.BriefJSON":   {BriefName: "orders-fix", BriefJSON: "{\x00}"},
		"RunSpec.CodeVersion": {BriefName: "orders-fix", CodeVersion: "v1\x00v2"},
		"RunSpec.Operator":    {BriefName: "orders-fix", Operator: "ana\x00mallory"},
	}
	if strconv.IntSize == 64 {
		specs["RunSpec.MaxConcurrency"] = RunSpec{BriefName: "orders-fix", MaxConcurrency: uint(uint64(1) << 32)}
		specs["RunSpec.MaxAttempts"] = RunSpec{BriefName: "orders-fix", MaxAttempts: uint(uint64(1)<<32 + 1)}
	}
	for what, spec := range specs {
		_, err := l.StartRun(plan, spec)
		wantRefused(t, "StartRun("+what+")", err, what+" ")
	}
	if runs, err := l.Runs(""); err != nil || len(runs) != 0 {
		t.Fatalf("refused runs were started: %v, %v", runs, err)
	}

	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Run(fmt.Sprintf("%d\x00zzz", run.ID()))
	wantRefused(t, "Run(id NUL)", err, "ref holds a NUL byte at index 1")
	_, err = l.Runs("orders-fix\x00")
	wantRefused(t, "Runs(NUL)", err, "briefName holds a NUL byte at index 10")
	events, err := run.Events()
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func(string) error{"Pause": run.Pause, "Resume": run.Resume,
		"Cancel": run.Cancel, "Finish": run.Finish} {
		wantRefused(t, name, call("stop\x00please"), "detail holds a NUL byte at index 4")
	}
	if err := run.Refresh(); err != nil || run.State() != "planned" {
		t.Fatalf("run %s (%v) after refused calls", run.State(), err)
	}
	if again, err := run.Events(); err != nil || !reflect.DeepEqual(again, events) {
		t.Fatalf("refused calls were recorded: %v, %v", again, err)
	}
	lease, err := run.Claim()
	if err != nil || lease == nil {
		t.Fatalf("claim: %v, %v", lease, err)
	}
	for what, res := range map[string]BatchResult{
		"BatchResult.IdempotencyKey":    {IdempotencyKey: "k\x00x"},
		"BatchResult.FingerprintBefore": {FingerprintBefore: "1:00\x00"},
		"BatchResult.FingerprintAfter":  {FingerprintAfter: "1:00\x00"},
	} {
		wantRefused(t, "Complete("+what+")", run.Complete(lease, res), what+" holds a NUL byte")
	}
	wantRefused(t, "Fail", run.Fail(lease, "timed out\x00"), "message holds a NUL byte at index 9")
	batches, err := run.Batches("")
	if err != nil || len(batches) != 3 || batches[0].State != "running" || batches[1].State != "pending" {
		t.Fatalf("batches after refused calls: %+v, %v", batches, err)
	}
}

func TestLedgerRunsEveryBatchOnce(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix", MaxConcurrency: 2,
		Params: map[string]interface{}{"source": "go"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.State() != "planned" || run.PlanFingerprint() != plan.Fingerprint() {
		t.Fatalf("new run: %s on %s", run.State(), run.PlanFingerprint())
	}
	var labels []string
	for n := int64(1); ; n++ {
		lease, err := run.Claim()
		if err != nil {
			t.Fatal(err)
		}
		if lease == nil {
			break
		}
		labels = append(labels, lease.Label)
		if fmt.Sprint(lease.Params["lo"]) != fmt.Sprint(lease.Lo) ||
			fmt.Sprint(lease.Params["hi"]) != fmt.Sprint(lease.Hi) {
			t.Fatalf("lease %s: params %v differ from bounds [%d, %d)", lease.Label, lease.Params,
				lease.Lo, lease.Hi)
		}
		if err := run.Complete(lease, BatchResult{RowsWritten: 10 * n, FingerprintAfter: "1:4bf11acb9ef8ce739a0670b0dfa048f0"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(labels) != 3 || labels[0] != "order_id [0, 10)" || labels[2] != "order_id [20, 30)" {
		t.Fatalf("claimed %v", labels)
	}
	p, err := run.Progress()
	if err != nil {
		t.Fatal(err)
	}
	if p.Completed != 3 || p.Pending != 0 || p.RowsWritten != 60 {
		t.Fatalf("progress %+v", p)
	}
	done, err := run.Batches("completed")
	if err != nil || len(done) != 3 {
		t.Fatalf("completed batches: %v, %v", done, err)
	}
}

// A lease's parameters have the types of its batch's in the plan; they were
// json.Numbers, so lease.Params["lo"].(int64) panicked.
func TestLeaseParamsAreTypedAsBatchParams(t *testing.T) {
	for _, name := range []string{"key-plan.json", "mixed-params.json"} {
		plan := recordedPlan(t, name)
		defer plan.Close()
		l := openTestLedger(t)
		defer l.Close()
		run, err := l.StartRun(plan, RunSpec{BriefName: "typed", MaxConcurrency: uint(plan.Len())})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < plan.Len(); i++ {
			batch, _ := plan.Batch(i)
			lease, err := run.Claim()
			if err != nil || lease == nil {
				t.Fatalf("%s: claim %d: %v, %v", name, i, lease, err)
			}
			if !reflect.DeepEqual(lease.Params, batch.Params) {
				t.Errorf("%s: batch %s: lease params %#v, plan's %#v", name, batch.Label,
					lease.Params, batch.Params)
			}
		}
	}
	mixed := recordedPlan(t, "mixed-params.json")
	defer mixed.Close()
	b, _ := mixed.Batch(0)
	if want := map[string]interface{}{"n": int64(2), "r": 2.0, "s": "x", "z": nil}; !reflect.DeepEqual(b.Params, want) {
		t.Errorf("mixed-params.json's batch 0: %#v", b.Params)
	}
}

func TestLedgerResumesAndRefusesAnotherPlan(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	other := recordedPlan(t, "key-plan-width15.json")
	defer other.Close()
	l := openTestLedger(t)
	defer l.Close()
	first, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil || again.ID() != first.ID() {
		t.Fatalf("resume gave run %v, %v; want %d", again, err, first.ID())
	}
	if _, err := l.StartRun(other, RunSpec{BriefName: "orders-fix"}); !errors.Is(err, &Error{Code: ErrConflict}) {
		t.Fatalf("another plan: %v", err)
	}
	newer, err := l.StartRun(other, RunSpec{BriefName: "orders-fix", New: true})
	if err != nil || newer.Seq() != first.Seq()+1 {
		t.Fatalf("new run: %v, %v", newer, err)
	}
	if err := first.Refresh(); err != nil || first.State() != "cancelled" {
		t.Fatalf("the replaced run is %s (%v)", first.State(), err)
	}
	byName, err := l.Run("orders-fix")
	if err != nil || byName.ID() != newer.ID() {
		t.Fatalf("Run(name) = %v, %v", byName, err)
	}
}

func TestLedgerFailRetryPauseAndFencing(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	lease, _ := run.Claim()
	if err := run.Fail(lease, "warehouse timed out"); err != nil {
		t.Fatal(err)
	}
	if failed, _ := run.Batches("failed"); len(failed) != 1 || failed[0].Label != "order_id [0, 10)" {
		t.Fatalf("failed batches: %v", failed)
	}
	if err := run.Complete(lease, BatchResult{}); !errors.Is(err, &Error{Code: ErrLeaseLost}) {
		t.Fatalf("completing a failed attempt: %v", err)
	}
	if n, err := run.Retry(false); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	again, _ := run.Claim()
	if again == nil || again.Label != "order_id [0, 10)" || again.Token <= lease.Token {
		t.Fatalf("retried claim %+v after %+v", again, lease)
	}
	if err := run.Heartbeat(lease); !errors.Is(err, &Error{Code: ErrLeaseLost}) {
		t.Fatalf("heartbeat with the old token: %v", err)
	}
	if err := run.Complete(again, BatchResult{RowsWritten: 3}); err != nil {
		t.Fatal(err)
	}
	if err := run.Pause("nightly load"); err != nil {
		t.Fatal(err)
	}
	if _, err := run.Claim(); !errors.Is(err, &Error{Code: ErrState}) {
		t.Fatalf("claim while paused: %v", err)
	}
	if err := run.Resume(""); err != nil {
		t.Fatal(err)
	}
	if next, err := run.Claim(); err != nil || next.Label != "order_id [10, 20)" {
		t.Fatalf("claim after resume: %+v, %v", next, err)
	}
}

func TestLedgerFinishOnceEveryBatchIsDone(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix", MaxConcurrency: 3})
	if err != nil {
		t.Fatal(err)
	}
	err = run.Finish("")
	if !errors.Is(err, &Error{Code: ErrState}) ||
		!strings.Contains(err.Error(), "3 batches are not finished (3 pending, 0 running, 0 failed") {
		t.Fatalf("finishing a run with nothing done: %v", err)
	}
	for {
		lease, err := run.Claim()
		if err != nil {
			t.Fatal(err)
		}
		if lease == nil {
			break
		}
		if err := run.Complete(lease, BatchResult{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := run.Finish("host says done"); err != nil {
		t.Fatal(err)
	}
	if run.State() != "completed" {
		t.Fatalf("finished run is %s", run.State())
	}
	if p, err := run.Progress(); err != nil || p.State != "completed" {
		t.Fatalf("progress after finish: %+v, %v", p, err)
	}
	if err := run.Finish(""); !errors.Is(err, &Error{Code: ErrState}) {
		t.Fatalf("finishing twice: %v", err)
	}
}

func TestMissingLedgerWithMustExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nosuch.db")
	if _, err := OpenLedger(path, LedgerOptions{MustExist: true}); !errors.Is(err, &Error{Code: ErrNotFound}) {
		t.Fatalf("MustExist on a missing file: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("MustExist created the file")
	}
}

func TestLedgerTypedListings(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix", MaxConcurrency: 2, MaxAttempts: 1,
		CodeVersion: "v1", LeaseS: 60, Params: map[string]interface{}{"source": "go"}})
	if err != nil {
		t.Fatal(err)
	}
	done, _ := run.Claim()
	if err := run.Complete(done, BatchResult{RowsWritten: 7, RowsDeleted: 1, DurationS: 1.5,
		IdempotencyKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	failing, _ := run.Claim()
	if err := run.Fail(failing, "warehouse timed out"); err != nil {
		t.Fatal(err)
	}
	held, _ := run.Claim()
	if err := run.Pause("nightly load"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartRun(plan, RunSpec{BriefName: "events-fix"}); err != nil {
		t.Fatal(err)
	}

	runs, err := l.Runs("")
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %+v, %v", runs, err)
	}
	r := runs[0]
	if r.ID != run.ID() || r.BriefName != "orders-fix" || r.State != "paused" || r.Seq != 1 ||
		r.Dimension != "key" || r.Column != "order_id" || r.CodeVersion != "v1" ||
		r.Operator != "go-test" || r.ParamsJSON != `{"source":"go"}` ||
		r.PlanFingerprint != plan.Fingerprint() || r.MaxConcurrency != 2 || r.MaxAttempts != 1 ||
		r.LeaseUs != 60000000 || r.BatchCount != 3 || r.CreatedAt == 0 ||
		r.StartedAt < r.CreatedAt || r.FinishedAt != 0 {
		t.Fatalf("run record %+v", r)
	}
	if runs[1].BriefName != "events-fix" || runs[1].State != "planned" || runs[1].StartedAt != 0 {
		t.Fatalf("second run record %+v", runs[1])
	}
	if only, err := l.Runs("events-fix"); err != nil || len(only) != 1 || only[0].ID != runs[1].ID {
		t.Fatalf("runs of events-fix: %+v, %v", only, err)
	}

	batches, err := run.Batches("")
	if err != nil || len(batches) != 3 {
		t.Fatalf("batches: %+v, %v", batches, err)
	}
	b := batches[0]
	if b.ID != done.BatchID || b.State != "completed" || b.Label != "order_id [0, 10)" ||
		b.Lo != 0 || b.Hi != 10 || b.ParamsJSON != `{"lo":0,"hi":10}` || b.Dimension != "key" ||
		b.Token != 1 || b.Attempt != 1 || b.RowsWritten != 7 || b.RowsDeleted != 1 ||
		b.DurationUs != 1500000 || b.IdempotencyKey != "k1" || b.Error != "" || b.Worker != "go-test" || b.LeaseUntil != 0 ||
		b.FinishedAt < b.StartedAt || b.ParentID != 0 {
		t.Fatalf("completed batch %+v", b)
	}
	if batches[1].State != "failed" || batches[1].Error != "warehouse timed out" {
		t.Fatalf("failed batch %+v", batches[1])
	}
	if batches[2].State != "running" || batches[2].Worker != "go-test" ||
		batches[2].Token != held.Token || batches[2].LeaseUntil != held.ExpiresAt {
		t.Fatalf("running batch %+v (lease %+v)", batches[2], held)
	}

	events, err := run.Events()
	if err != nil || len(events) < 8 {
		t.Fatalf("events: %+v, %v", events, err)
	}
	if e := events[0]; e.Seq != 1 || e.Subject != "run" || e.From != "" || e.To != "planned" ||
		e.Actor != "go-test" || e.At < r.CreatedAt {
		t.Fatalf("first event %+v", e)
	}
	last := events[len(events)-1]
	if last.Subject != "run" || last.From != "running" || last.To != "paused" ||
		last.Detail != "nightly load" || last.Seq != int64(len(events)) {
		t.Fatalf("last event %+v", last)
	}
	var failures int
	for _, e := range events {
		if e.BatchID == failing.BatchID && e.To == "failed" {
			failures++
		}
	}
	if failures != 1 {
		t.Fatalf("%d failure events for batch %d in %+v", failures, failing.BatchID, events)
	}
}

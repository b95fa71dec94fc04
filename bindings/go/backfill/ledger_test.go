package backfill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	if failed, _ := run.Batches("failed"); len(failed) != 1 || failed[0]["label"] != "order_id [0, 10)" {
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

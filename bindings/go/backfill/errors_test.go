package backfill

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestErrorsIsAndAsWithCodes(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	lease, _ := run.Claim()
	stale := *lease
	stale.Token--
	err = fmt.Errorf("batch %d: %w", lease.BatchID, run.Complete(&stale, BatchResult{}))
	if !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("errors.Is(%v, ErrLeaseLost) is false", err)
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, &Error{Code: ErrConflict}) {
		t.Fatalf("%v matches ErrConflict", err)
	}
	if !errors.Is(err, &Error{Code: ErrLeaseLost}) {
		t.Fatalf("errors.Is(%v, &Error{Code: ErrLeaseLost}) is false", err)
	}
	var bfErr *Error
	if !errors.As(err, &bfErr) || bfErr.Code != ErrLeaseLost || bfErr.Message == "" {
		t.Fatalf("errors.As(%v, *Error) gave %+v", err, bfErr)
	}
	var code Code
	if !errors.As(err, &code) || code != ErrLeaseLost {
		t.Fatalf("errors.As(%v, Code) gave %v", err, code)
	}
	prefix := fmt.Sprintf("batch %d: BF_E_LEASE_LOST: ", lease.BatchID)
	if ErrLeaseLost.Error() != "BF_E_LEASE_LOST" || !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("messages %q, %q", ErrLeaseLost.Error(), err.Error())
	}
	other := recordedPlan(t, "key-plan-width15.json")
	defer other.Close()
	if _, err := l.StartRun(other, RunSpec{BriefName: "orders-fix"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("another plan: %v", err)
	}
}

func TestBadBatchStateNamesTheStates(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = run.Batches("bogus")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pending, running, completed") ||
		!strings.Contains(err.Error(), `"bogus"`) {
		t.Fatalf("Batches(\"bogus\"): %v", err)
	}
}

// wantRefused checks that err is the binding's refusal of an argument: an
// *Error with ErrInvalid whose message holds want.
func wantRefused(t *testing.T, call string, err error, want string) {
	t.Helper()
	var bfErr *Error
	if !errors.As(err, &bfErr) || bfErr.Code != ErrInvalid || !strings.Contains(bfErr.Message, want) {
		t.Errorf("%s: got %v, want ErrInvalid saying %q", call, err, want)
	}
}

// wantPanic checks that f panics with want.
func wantPanic(t *testing.T, call string, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		if v := recover(); v != want {
			t.Errorf("%s: recovered %v, want a panic %q", call, v, want)
		}
	}()
	f()
}

// A nil handle given as an argument is refused like a NUL byte; before, cgo
// dereferenced it and the program died of a nil pointer.
func TestNilHandleArgumentsAreRefused(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	l := openTestLedger(t)
	defer l.Close()
	_, err := l.StartRun(nil, RunSpec{BriefName: "orders-fix"})
	wantRefused(t, "StartRun(nil)", err, "plan must be a *backfill.Plan, not nil")
	if runs, _ := l.Runs(""); len(runs) != 0 {
		t.Fatalf("a refused run was started: %+v", runs)
	}
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Claim(); err != nil {
		t.Fatal(err)
	}
	const lease = "lease must be a *backfill.Lease, not nil"
	wantRefused(t, "Heartbeat(nil)", run.Heartbeat(nil), lease)
	wantRefused(t, "Complete(nil)", run.Complete(nil, BatchResult{RowsWritten: 1}), lease)
	wantRefused(t, "Fail(nil)", run.Fail(nil, "no"), lease)
	_, err = ReportRun(nil, "orders-fix", "after", "markdown")
	wantRefused(t, "ReportRun(nil)", err, "ledger must be a *backfill.Ledger, not nil")
	_, err = ReportBrief(nil, "before", "markdown")
	wantRefused(t, "ReportBrief(nil)", err, "brief must be a *backfill.Brief, not nil")

	fp, _ := FingerprintRows([][]interface{}{{1}})
	var none *Fingerprint
	if fp.Equal(nil) || none.Equal(fp) || !none.Equal(nil) {
		t.Errorf("a nil *Fingerprint must equal only nil")
	}
}

// Close on a nil handle does nothing, as for other io.Closers; any other
// method returns ErrInvalid where it returns an error, and panics saying
// so, as for a closed handle, where it does not.
func TestNilReceivers(t *testing.T) {
	var (
		plan   *Plan
		brief  *Brief
		l      *Ledger
		run    *Run
		runner *Runner
		fp     *Fingerprint
	)
	for _, c := range []io.Closer{plan, brief, l, run, runner} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of a nil %T: %v", c, err)
		}
	}
	runner.Stop() // nothing to stop

	_, err := plan.ToJSON()
	wantRefused(t, "nil Plan ToJSON", err, "use of a nil *backfill.Plan")
	_, err = plan.Batch(0)
	wantRefused(t, "nil Plan Batch", err, "use of a nil *backfill.Plan")
	wantPanic(t, "nil Plan Len", "backfill: use of a nil *backfill.Plan", func() { plan.Len() })
	wantPanic(t, "nil Brief Name", "backfill: use of a nil *backfill.Brief", func() { brief.Name() })

	p := recordedPlan(t, "key-plan.json")
	defer p.Close()
	_, err = l.StartRun(p, RunSpec{BriefName: "x"})
	wantRefused(t, "nil Ledger StartRun", err, "use of a nil *backfill.Ledger")
	_, err = l.Run("x")
	wantRefused(t, "nil Ledger Run", err, "use of a nil *backfill.Ledger")
	_, err = l.Runs("")
	wantRefused(t, "nil Ledger Runs", err, "use of a nil *backfill.Ledger")

	_, err = run.Claim()
	wantRefused(t, "nil Run Claim", err, "use of a nil *backfill.Run")
	wantRefused(t, "nil Run Pause", run.Pause("x"), "use of a nil *backfill.Run")
	wantRefused(t, "nil Run Complete", run.Complete(&Lease{}, BatchResult{}), "use of a nil *backfill.Run")
	_, err = run.Batches("")
	wantRefused(t, "nil Run Batches", err, "use of a nil *backfill.Run")
	wantPanic(t, "nil Run ID", "backfill: use of a nil *backfill.Run", func() { run.ID() })

	_, err = runner.Run()
	wantRefused(t, "nil Runner Run", err, "use of a nil *backfill.Runner")
	wantRefused(t, "nil Runner SetBrief", runner.SetBrief(nil), "brief must be a *backfill.Brief, not nil")
	_, err = runner.TestSlice(1)
	wantRefused(t, "nil Runner TestSlice", err, "use of a nil *backfill.Runner")

	wantRefused(t, "nil Fingerprint AddRow", fp.AddRow(1), "use of a nil *backfill.Fingerprint")
	wantPanic(t, "nil Fingerprint Rows", "backfill: use of a nil *backfill.Fingerprint", func() { fp.Rows() })
}

package backfill

import (
	"errors"
	"fmt"
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

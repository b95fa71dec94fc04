package backfill

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// settleFDs runs the garbage collector and its finalizers until at most
// limit descriptors are open, or gives up after a few seconds.
func settleFDs(t *testing.T, limit int) int {
	n := openFDs(t)
	for i := 0; i < 300 && n > limit; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		n = openFDs(t)
	}
	return n
}

// quietFDs counts open descriptors once earlier tests' garbage is collected.
func quietFDs(t *testing.T) int {
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return openFDs(t)
}

// forgetLedgers opens ledgers with a claimed run each and drops every reference.
func forgetLedgers(t *testing.T, plan *Plan, dir string, n int) {
	for i := 0; i < n; i++ {
		l, err := OpenLedger(filepath.Join(dir, fmt.Sprintf("ledger-%d.db", i)),
			LedgerOptions{DurabilityNormal: true})
		if err != nil {
			t.Fatal(err)
		}
		run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := run.Claim(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForgottenLedgersWithRunsAreFinalized(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	dir := t.TempDir()
	before := quietFDs(t)
	const n = 40
	forgetLedgers(t, plan, dir, n)
	if opened := openFDs(t); opened < before+n {
		t.Fatalf("%d ledgers hold only %d descriptors; the test cannot see a leak", n, opened-before)
	}
	if after := settleFDs(t, before+2); after > before+2 {
		t.Fatalf("%d descriptors open before, %d after forgetting %d ledgers with runs and collecting garbage",
			before, after, n)
	}
}

func TestRunKeepsItsForgottenLedgerOpen(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	defer plan.Close()
	before := quietFDs(t)
	l := openTestLedger(t)
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	l = nil // only the run is left: the ledger's finalizer must not close what it needs
	for i := 0; i < 10; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	lease, err := run.Claim()
	if err != nil || lease == nil || lease.Label != "order_id [0, 10)" {
		t.Fatalf("claim on a run whose Ledger was collected: %+v, %v", lease, err)
	}
	if err := run.Complete(lease, BatchResult{RowsWritten: 1}); err != nil {
		t.Fatal(err)
	}
	run = nil // now the ledger goes with its last run
	if after := settleFDs(t, before); after > before {
		t.Fatalf("%d descriptors open before, %d after the run was collected", before, after)
	}
}

func TestCloseIsIoCloserAndIdempotent(t *testing.T) {
	plan := recordedPlan(t, "key-plan.json")
	l := openTestLedger(t)
	run, err := l.StartRun(plan, RunSpec{BriefName: "orders-fix"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := l.Run("orders-fix")
	if err != nil {
		t.Fatal(err)
	}
	closers := []io.Closer{other, other, l, l, run, plan, plan}
	for i, c := range closers {
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d of %T: %v", i, c, err)
		}
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "closed Run") {
			t.Fatalf("a run of a closed ledger: panic %v", p)
		}
	}()
	run.Claim()
}

package backfill

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func keyPlan(t *testing.T) string {
	root := os.Getenv("BF_SOURCE_ROOT")
	if root == "" {
		root = "../../.."
	}
	data, err := os.ReadFile(filepath.Join(root, "tests/fuzz/corpus/plan_json/key-plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestVersion(t *testing.T) {
	if want := os.Getenv("BF_VERSION"); want != "" && Version() != want {
		t.Fatalf("Version() = %q, want %q", Version(), want)
	}
	if VersionNumber() == 0 {
		t.Fatal("VersionNumber() = 0")
	}
	if got := ErrorName(ErrLeaseLost); got != "BF_E_LEASE_LOST" {
		t.Fatalf("ErrorName(ErrLeaseLost) = %q", got)
	}
	// Converted to a C int, each would keep its low 32 bits: BF_OK, BF_E_LEASE_LOST.
	unknown := ErrorName(-99)
	for _, code := range []Code{1 << 33, 1<<32 - 8, -1<<31 - 1} {
		if got := ErrorName(code); got != unknown || got != "BF_E_UNKNOWN" {
			t.Errorf("ErrorName(%d) = %q, want %q", int(code), got, unknown)
		}
	}
	if got := (&Error{Code: 1<<32 - 8}).Error(); !strings.HasPrefix(got, "BF_E_UNKNOWN: ") {
		t.Errorf("an *Error with code 2^32-8 says %q", got)
	}
}

func TestPlanFromJSONRefusesANULByte(t *testing.T) {
	// C would read the text only up to the NUL byte: the plan without what follows.
	text := keyPlan(t)
	_, err := PlanFromJSON(text + "\x00{}")
	wantRefused(t, "PlanFromJSON(NUL)", err, fmt.Sprintf("plan JSON holds a NUL byte at index %d", len(text)))
	plan, err := PlanFromJSON(text)
	if err != nil {
		t.Fatal(err)
	}
	plan.Close()
}

func TestPlanBatches(t *testing.T) {
	text := keyPlan(t)
	var recorded struct{ Fingerprint string }
	if err := json.Unmarshal([]byte(text), &recorded); err != nil {
		t.Fatal(err)
	}
	plan, err := PlanFromJSON(text)
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	if plan.Len() != 3 || plan.Dimension() != "key" || plan.Column() != "order_id" {
		t.Fatalf("plan: %d batches, %s on %s", plan.Len(), plan.Dimension(), plan.Column())
	}
	if plan.Fingerprint() != recorded.Fingerprint {
		t.Fatalf("fingerprint %s, recorded %s", plan.Fingerprint(), recorded.Fingerprint)
	}
	b, err := plan.Batch(1)
	if err != nil {
		t.Fatal(err)
	}
	if b.Label != "order_id [10, 20)" || b.Lo != 10 || b.Hi != 20 || b.Params["lo"] != int64(10) ||
		b.Params["hi"] != int64(20) || strings.Join(b.ParamOrder, ",") != "lo,hi" {
		t.Fatalf("batch 1: %+v", b)
	}
	if _, err := plan.Batch(3); !errors.Is(err, &Error{Code: ErrNotFound}) {
		t.Fatalf("Batch(3): %v", err)
	}
	again, err := plan.ToJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := PlanFromJSON(again)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Fingerprint() != plan.Fingerprint() {
		t.Fatal("round trip changed the fingerprint")
	}
}

func TestEditedPlanIsConflict(t *testing.T) {
	edited := strings.Replace(keyPlan(t), "order_id [10, 20)", "order_id [10, 21)", 1)
	_, err := PlanFromJSON(edited)
	var bfErr *Error
	if !errors.As(err, &bfErr) || bfErr.Code != ErrConflict {
		t.Fatalf("edited plan: %v", err)
	}
	if !strings.Contains(bfErr.Message, "the plan was edited") {
		t.Fatalf("message %q does not say the plan was edited", bfErr.Message)
	}
}

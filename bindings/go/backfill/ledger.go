package backfill

/*
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// RunStates and BatchStates name the ledger's states, indexed by their C values.
var (
	RunStates = []string{"planned", "running", "paused", "cancelled", "failed", "validating",
		"awaiting_approval", "approved", "completed", "rolled_back"}
	BatchStates = []string{"pending", "running", "completed", "validated", "failed", "cancelled",
		"rolled_back", "split"}
)

// LedgerOptions open a ledger; the zero value means durability full, created when absent.
type LedgerOptions struct {
	DurabilityNormal bool   // WAL default sync instead of syncing every commit
	MustExist        bool   // fail with ErrNotFound instead of creating the file
	Actor            string // recorded in every event; "" means "$USER pid N"
	BusyTimeoutMs    int    // 0 means 10000
}

// Ledger is a durable ledger of runs and batches (docs/ledger.md). It is used
// by one goroutine at a time; open one per worker to work in parallel.
//
// The Ledger and Run values a program holds carry the finalizers; the native
// handles live in ledgerCore and runCore, which have none. A Run points at
// its ledger's core, never at the Ledger, and the core lists runCores, never
// Runs: so no two finalized values reach each other, and the garbage
// collector finalizes a forgotten ledger and its runs (Go never finalizes
// values in a cycle, which leaked their file descriptors).
type Ledger struct {
	c *ledgerCore
}

// ledgerCore owns a bf_ledger and the runs opened through it.
type ledgerCore struct {
	// mu serializes the native calls on the ledger and its runs: finalizers
	// run on their own goroutine, while the program may be using the ledger.
	mu   sync.Mutex
	p    *C.bf_ledger
	runs map[*runCore]struct{}
	// orphaned: the Ledger was finalized while runs were still reachable;
	// the last run to close closes the ledger, which they need open.
	orphaned bool
}

// runCore owns a bf_run.
type runCore struct {
	p      *C.bf_run
	ledger *ledgerCore
}

// Compile-time checks: every handle is an io.Closer.
var (
	_ io.Closer = (*Ledger)(nil)
	_ io.Closer = (*Run)(nil)
	_ io.Closer = (*Plan)(nil)
)

// OpenLedger opens (or creates) the ledger file at path. A path or Actor
// holding a NUL byte, or BusyTimeoutMs out of int's range, is ErrInvalid.
func OpenLedger(path string, opts LedgerOptions) (*Ledger, error) {
	var o C.bf_ledger_options
	var a cArgs
	defer a.free()
	cpath := a.str("path", path)
	actor := a.optStr("LedgerOptions.Actor", opts.Actor)
	busy := a.int("LedgerOptions.BusyTimeoutMs", opts.BusyTimeoutMs)
	if a.err != nil {
		return nil, a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_ledger_options_init(&o, C.BF_LEDGER_OPTIONS_VERSION)); err != nil {
		return nil, err
	}
	if opts.DurabilityNormal {
		o.durability = C.BF_DURABILITY_NORMAL
	}
	if opts.MustExist {
		o.flags = C.BF_LEDGER_MUST_EXIST
	}
	o.actor = actor
	o.busy_timeout_ms = busy
	var out *C.bf_ledger
	if err := lastError(C.bf_ledger_open(&out, cpath, &o)); err != nil {
		return nil, err
	}
	l := &Ledger{c: &ledgerCore{p: out, runs: map[*runCore]struct{}{}}}
	runtime.SetFinalizer(l, (*Ledger).finalize)
	return l, nil
}

// Close closes the ledger and every run opened through it; using them later
// panics. It returns nil; closing twice is fine.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for rc := range c.runs {
		rc.free()
	}
	c.close()
	runtime.SetFinalizer(l, nil)
	return nil
}

// finalize closes a forgotten ledger, or leaves that to its last open run.
func (l *Ledger) finalize() {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.runs) == 0 {
		c.close()
	} else {
		c.orphaned = true
	}
}

// close closes the native ledger; c.mu is held.
func (c *ledgerCore) close() {
	if c.p != nil {
		C.bf_ledger_close(c.p)
		c.p = nil
	}
}

// free frees the native run; its ledger's mu is held.
func (rc *runCore) free() {
	if rc.p != nil {
		C.bf_run_free(rc.p)
		rc.p = nil
	}
	delete(rc.ledger.runs, rc)
}

// lock holds the ledger's lock for a native call; the returned function
// releases it, keeping l reachable (and unfinalized) until then.
func (l *Ledger) lock() func() {
	if l == nil {
		panic(usedNil(l))
	}
	l.c.mu.Lock()
	return func() {
		l.c.mu.Unlock()
		runtime.KeepAlive(l)
	}
}

// handle is the native ledger; l.lock() is held.
func (l *Ledger) handle() *C.bf_ledger {
	if l.c.p == nil {
		panic("backfill: use of a closed Ledger")
	}
	return l.c.p
}

// RunSpec describes a run to start; zero values take the library's defaults.
type RunSpec struct {
	BriefName      string // required
	BriefJSON      string
	CodeVersion    string
	Operator       string
	Params         map[string]interface{}
	MaxConcurrency uint
	MaxAttempts    uint
	RetryBackoffS  float64 // 0 means 5 s; use a tiny positive value for no wait
	LeaseS         float64
	New            bool // start a new run even if the brief has an unfinished one
}

// StartRun starts the brief's run on plan, or resumes its unfinished run. A
// different plan for an unfinished run is ErrConflict unless spec.New; a
// string holding a NUL byte, or a count out of unsigned int's range, is
// ErrInvalid.
func (l *Ledger) StartRun(plan *Plan, spec RunSpec) (*Run, error) {
	if l == nil {
		return nil, nilReceiver(l)
	}
	var s C.bf_run_spec
	var a cArgs
	defer a.free()
	need(&a, "plan", plan)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_run_spec_init(&s, C.BF_RUN_SPEC_VERSION)); err != nil {
		return nil, err
	}
	s.brief_name = a.optStr("RunSpec.BriefName", spec.BriefName)
	s.brief_json = a.optStr("RunSpec.BriefJSON", spec.BriefJSON)
	s.code_version = a.optStr("RunSpec.CodeVersion", spec.CodeVersion)
	s.operator_name = a.optStr("RunSpec.Operator", spec.Operator)
	if spec.Params != nil {
		params, err := json.Marshal(spec.Params)
		if err != nil {
			return nil, &Error{Code: ErrInvalid, Message: "run params: " + err.Error()}
		}
		s.params_json = a.optStr("RunSpec.Params", string(params))
	}
	s.max_concurrency = a.uint("RunSpec.MaxConcurrency", spec.MaxConcurrency)
	s.max_attempts = a.uint("RunSpec.MaxAttempts", spec.MaxAttempts)
	if a.err != nil {
		return nil, a.err
	}
	if spec.RetryBackoffS > 0 {
		s.retry_backoff_s = C.double(spec.RetryBackoffS)
	}
	s.lease_s = C.double(spec.LeaseS)
	if spec.New {
		s.flags = C.BF_RUN_NEW
	}
	defer l.lock()()
	var out *C.bf_run
	err := lastError(C.bf_run_start(&out, l.handle(), &s, plan.handle()))
	runtime.KeepAlive(plan)
	if err != nil {
		return nil, err
	}
	return l.adopt(out), nil
}

// Run opens a run by id ("12") or by brief name (its latest run).
func (l *Ledger) Run(ref string) (*Run, error) {
	if l == nil {
		return nil, nilReceiver(l)
	}
	var a cArgs
	defer a.free()
	cref := a.str("ref", ref)
	if a.err != nil {
		return nil, a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.lock()()
	var id C.int64_t
	if err := lastError(C.bf_ledger_find_run(&id, l.handle(), cref)); err != nil {
		return nil, err
	}
	var out *C.bf_run
	if err := lastError(C.bf_run_open(&out, l.handle(), id)); err != nil {
		return nil, err
	}
	return l.adopt(out), nil
}

// adopt wraps a run opened through l; l.lock() is held.
func (l *Ledger) adopt(p *C.bf_run) *Run {
	rc := &runCore{p: p, ledger: l.c}
	l.c.runs[rc] = struct{}{}
	r := &Run{c: rc}
	runtime.SetFinalizer(r, (*Run).Close)
	return r
}

// Run is one run of a brief in a ledger. A reachable Run keeps its ledger's
// native handle open, even when the Ledger itself is no longer referenced.
type Run struct {
	c *runCore
}

// Close releases the run; using it later panics. It returns nil; closing
// twice, or after its ledger was closed, is fine.
func (r *Run) Close() error {
	if r == nil {
		return nil
	}
	lc := r.c.ledger
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if r.c.p != nil {
		r.c.free()
		if lc.orphaned && len(lc.runs) == 0 {
			lc.close()
		}
	}
	runtime.SetFinalizer(r, nil)
	return nil
}

// lock holds the ledger's lock for a native call on the run; the returned
// function releases it, keeping r reachable (and unfinalized) until then.
func (r *Run) lock() func() {
	if r == nil {
		panic(usedNil(r))
	}
	r.c.ledger.mu.Lock()
	return func() {
		r.c.ledger.mu.Unlock()
		runtime.KeepAlive(r)
	}
}

// handle is the native run; r.lock() is held (r.call holds it).
func (r *Run) handle() *C.bf_run {
	if r.c.p == nil {
		panic("backfill: use of a closed Run")
	}
	return r.c.p
}

// ID is the run's id in the ledger; Seq its number under its brief.
func (r *Run) ID() int64 {
	defer r.lock()()
	return int64(C.bf_run_id(r.handle()))
}

func (r *Run) Seq() int64 {
	defer r.lock()()
	return int64(C.bf_run_seq(r.handle()))
}

// State is the run's state as last read; Refresh reads it again.
func (r *Run) State() string {
	defer r.lock()()
	return RunStates[int(C.bf_run_current_state(r.handle()))]
}

// PlanFingerprint is the fingerprint of the plan the run was started on.
func (r *Run) PlanFingerprint() string {
	defer r.lock()()
	return C.GoString(C.bf_run_plan_fingerprint(r.handle()))
}

// call makes one native call on the run, under its ledger's lock, and reads
// the thread's error on the same OS thread.
func (r *Run) call(rc func() C.int) error {
	if r == nil {
		return nilReceiver(r)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer r.lock()()
	return lastError(rc())
}

// Refresh reads the run's state again.
func (r *Run) Refresh() error {
	return r.call(func() C.int { return C.bf_run_refresh(r.handle()) })
}

func (r *Run) withDetail(fn func(*C.bf_run, *C.char) C.int, detail string) error {
	var a cArgs
	defer a.free()
	c := a.str("detail", detail)
	if a.err != nil {
		return a.err
	}
	return r.call(func() C.int { return fn(r.handle(), c) })
}

// Pause stops new claims; Resume allows them again; Cancel stops the run.
func (r *Run) Pause(detail string) error {
	return r.withDetail(func(p *C.bf_run, d *C.char) C.int { return C.bf_run_pause(p, d) }, detail)
}
func (r *Run) Resume(detail string) error {
	return r.withDetail(func(p *C.bf_run, d *C.char) C.int { return C.bf_run_resume(p, d) }, detail)
}
func (r *Run) Cancel(detail string) error {
	return r.withDetail(func(p *C.bf_run, d *C.char) C.int { return C.bf_run_cancel(p, d) }, detail)
}

// Finish marks the run completed once every batch is completed, validated or
// cancelled: for a host that tracks its own batches, whose last completion
// does not finish the run by itself. An *Error with ErrState, counting the
// batches left by state, while some are not done, and for a run that is not
// planned, running or approved.
func (r *Run) Finish(detail string) error {
	return r.withDetail(func(p *C.bf_run, d *C.char) C.int { return C.bf_run_finish(p, d) }, detail)
}

// Retry puts failed batches back to pending (split in two with split) and
// returns how many it handled.
func (r *Run) Retry(split bool) (int, error) {
	var n C.size_t
	var flags C.uint
	if split {
		flags = C.BF_RETRY_SPLIT
	}
	err := r.call(func() C.int { return C.bf_run_retry(&n, r.handle(), flags) })
	return int(n), err
}

// Lease is a claimed batch.
type Lease struct {
	BatchID, Ordinal int64
	Label            string
	Lo, Hi           int64
	// Params holds the bound parameters by name, typed as in Batch.Params:
	// int64, float64, string or nil.
	Params         map[string]interface{}
	Token, Attempt int64
	ExpiresAt      int64 // UTC microseconds
}

// Claim takes the next batch in plan order, or returns nil when none can be claimed now.
func (r *Run) Claim() (*Lease, error) {
	var out *C.bf_lease
	if err := r.call(func() C.int { return C.bf_run_claim(&out, r.handle()) }); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, nil
	}
	defer C.bf_lease_free(out)
	l := &Lease{
		BatchID:   int64(C.bf_lease_batch_id(out)),
		Ordinal:   int64(C.bf_lease_ordinal(out)),
		Label:     C.GoString(C.bf_lease_label(out)),
		Lo:        int64(C.bf_lease_lo(out)),
		Hi:        int64(C.bf_lease_hi(out)),
		Token:     int64(C.bf_lease_token(out)),
		Attempt:   int64(C.bf_lease_attempt(out)),
		ExpiresAt: int64(C.bf_lease_expires_at(out)),
	}
	params, err := leaseParams(C.GoString(C.bf_lease_params_json(out)))
	if err != nil {
		return nil, err
	}
	l.Params = params
	return l, nil
}

// leaseParams reads a lease's parameters, which the ledger keeps as a flat
// JSON object, into the types Batch.Params has: an integer as int64 (all of
// it: a float64 would round one beyond 2^53), a real (written with a '.' or
// an exponent) as float64, text as string, null as nil.
func leaseParams(text string) (map[string]interface{}, error) {
	var params map[string]interface{}
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	if err := d.Decode(&params); err != nil {
		return nil, &Error{Code: ErrParse, Message: "lease params: " + err.Error()}
	}
	for name, v := range params {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				params[name] = i
			} else if f, err := n.Float64(); err == nil {
				params[name] = f
			} else {
				return nil, &Error{Code: ErrParse, Message: "lease params: " + name + ": " + err.Error()}
			}
		}
	}
	return params, nil
}

// Heartbeat extends the lease; ErrLeaseLost once another worker holds the batch.
func (r *Run) Heartbeat(l *Lease) error {
	var a cArgs
	if need(&a, "lease", l); a.err != nil {
		return a.err
	}
	return r.call(func() C.int {
		return C.bf_run_heartbeat(r.handle(), C.int64_t(l.BatchID), C.int64_t(l.Token))
	})
}

// BatchResult is what a completed batch reports.
type BatchResult struct {
	RowsWritten, RowsDeleted            int64
	FingerprintBefore, FingerprintAfter string // "rows:hex32" or ""
	DurationS                           float64
	IdempotencyKey                      string
}

// Complete records the batch as completed; ErrLeaseLost for a stale token.
func (r *Run) Complete(l *Lease, res BatchResult) error {
	var c C.bf_batch_result
	C.bf_batch_result_init(&c, C.BF_BATCH_RESULT_VERSION)
	c.rows_written = C.int64_t(res.RowsWritten)
	c.rows_deleted = C.int64_t(res.RowsDeleted)
	c.duration_s = C.double(res.DurationS)
	var a cArgs
	defer a.free()
	need(&a, "lease", l)
	c.fingerprint_before = a.optStr("BatchResult.FingerprintBefore", res.FingerprintBefore)
	c.fingerprint_after = a.optStr("BatchResult.FingerprintAfter", res.FingerprintAfter)
	c.idempotency_key = a.optStr("BatchResult.IdempotencyKey", res.IdempotencyKey)
	if a.err != nil {
		return a.err
	}
	return r.call(func() C.int {
		return C.bf_run_complete(r.handle(), C.int64_t(l.BatchID), C.int64_t(l.Token), &c)
	})
}

// Fail records a failed attempt; the batch is retried after backoff until max_attempts.
func (r *Run) Fail(l *Lease, message string) error {
	var a cArgs
	defer a.free()
	need(&a, "lease", l)
	c := a.str("message", message)
	if a.err != nil {
		return a.err
	}
	return r.call(func() C.int {
		return C.bf_run_fail(r.handle(), C.int64_t(l.BatchID), C.int64_t(l.Token), c)
	})
}

// Progress is a run's counts by state, rows and timing.
type Progress struct {
	State                                                  string
	Total, Pending, Running, Completed, Validated, Failed  int64
	Cancelled, RolledBack, Split, RowsWritten, RowsDeleted int64
	ElapsedS                                               float64
	EtaS                                                   float64 // < 0 when unknown
}

// Progress reads the run's progress.
func (r *Run) Progress() (Progress, error) {
	var p C.bf_progress
	C.bf_progress_init(&p, C.BF_PROGRESS_VERSION)
	if err := r.call(func() C.int { return C.bf_run_progress(&p, r.handle()) }); err != nil {
		return Progress{}, err
	}
	return Progress{
		State: RunStates[int(p.state)], Total: int64(p.total), Pending: int64(p.pending),
		Running: int64(p.running), Completed: int64(p.completed), Validated: int64(p.validated),
		Failed: int64(p.failed), Cancelled: int64(p.cancelled), RolledBack: int64(p.rolled_back),
		Split: int64(p.split), RowsWritten: int64(p.rows_written), RowsDeleted: int64(p.rows_deleted),
		ElapsedS: float64(p.elapsed_s), EtaS: float64(p.eta_s),
	}, nil
}

// goString copies a C string owned by a listing; "" for NULL (not recorded).
func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// stateName names a state number; "" for -1 (none, or unknown).
func stateName(names []string, v C.int) string {
	if v < 0 || int(v) >= len(names) {
		return ""
	}
	return names[int(v)]
}

func dimensionName(d C.bf_dimension) string {
	return goString(C.bf_dimension_name(d))
}

// RunRecord is one run of Ledger.Runs. Times are UTC microseconds, 0 when
// not set; strings the ledger did not record are "".
type RunRecord struct {
	ID, Seq                     int64
	BriefName, State            string
	PlanFingerprint             string
	Dimension, Column           string // "key", "order_id"
	CodeVersion, Operator       string
	ParamsJSON, BriefJSON       string // as recorded at the start
	MaxConcurrency, MaxAttempts int64
	RetryBackoffUs, LeaseUs     int64
	BatchCount                  int64
	CreatedAt, StartedAt        int64
	UpdatedAt, FinishedAt       int64
}

// Runs lists every run of the ledger, oldest first; with a brief name, only
// that brief's runs ("" for all).
func (l *Ledger) Runs(briefName string) ([]RunRecord, error) {
	if l == nil {
		return nil, nilReceiver(l)
	}
	var a cArgs
	defer a.free()
	cname := a.optStr("briefName", briefName)
	if a.err != nil {
		return nil, a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.lock()()
	var list *C.bf_run_list
	if err := lastError(C.bf_ledger_runs(&list, l.handle(), cname)); err != nil {
		return nil, err
	}
	defer C.bf_run_list_free(list)
	n := C.bf_run_list_count(list)
	out := make([]RunRecord, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		out = append(out, RunRecord{
			ID:              int64(C.bf_run_list_id(list, i)),
			Seq:             int64(C.bf_run_list_seq(list, i)),
			BriefName:       goString(C.bf_run_list_brief_name(list, i)),
			State:           stateName(RunStates, C.bf_run_list_state(list, i)),
			PlanFingerprint: goString(C.bf_run_list_plan_fingerprint(list, i)),
			Dimension:       dimensionName(C.bf_run_list_dimension(list, i)),
			Column:          goString(C.bf_run_list_column(list, i)),
			CodeVersion:     goString(C.bf_run_list_code_version(list, i)),
			Operator:        goString(C.bf_run_list_operator(list, i)),
			ParamsJSON:      goString(C.bf_run_list_params_json(list, i)),
			BriefJSON:       goString(C.bf_run_list_brief_json(list, i)),
			MaxConcurrency:  int64(C.bf_run_list_max_concurrency(list, i)),
			MaxAttempts:     int64(C.bf_run_list_max_attempts(list, i)),
			RetryBackoffUs:  int64(C.bf_run_list_retry_backoff_us(list, i)),
			LeaseUs:         int64(C.bf_run_list_lease_us(list, i)),
			BatchCount:      int64(C.bf_run_list_batch_count(list, i)),
			CreatedAt:       int64(C.bf_run_list_created_at(list, i)),
			StartedAt:       int64(C.bf_run_list_started_at(list, i)),
			UpdatedAt:       int64(C.bf_run_list_updated_at(list, i)),
			FinishedAt:      int64(C.bf_run_list_finished_at(list, i)),
		})
	}
	return out, nil
}

// BatchRecord is one batch of Run.Batches. Times are UTC microseconds, 0
// when not set; strings the ledger did not record (worker, fingerprints,
// idempotency key, error) are "".
type BatchRecord struct {
	ID, Ordinal                         int64
	ParentID                            int64 // the batch this one was split from, or 0
	State, Dimension, Label             string
	Lo, Hi                              int64
	ParamsJSON                          string // e.g. {"lo":0,"hi":10}
	Token, Attempt                      int64
	LeaseUntil, NotBefore               int64
	Worker                              string // who holds or last held the lease (completed: who completed it)
	StartedAt, FinishedAt, DurationUs   int64
	RowsWritten, RowsDeleted            int64
	FingerprintBefore, FingerprintAfter string
	IdempotencyKey                      string
	Error                               string // the latest failure's message
}

// Batches lists the run's batches in plan order ("" for all states).
func (r *Run) Batches(state string) ([]BatchRecord, error) {
	code := -1
	for i, s := range BatchStates {
		if s == state {
			code = i
		}
	}
	if state != "" && code < 0 {
		return nil, &Error{Code: ErrInvalid, Message: fmt.Sprintf("batch state must be one of %s, or \"\" for all; not %q",
			strings.Join(BatchStates, ", "), state)}
	}
	var list *C.bf_batch_list
	if err := r.call(func() C.int { return C.bf_run_batches(&list, r.handle(), C.int(code)) }); err != nil {
		return nil, err
	}
	defer C.bf_batch_list_free(list)
	n := C.bf_batch_list_count(list)
	out := make([]BatchRecord, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		out = append(out, BatchRecord{
			ID:                int64(C.bf_batch_list_id(list, i)),
			Ordinal:           int64(C.bf_batch_list_ordinal(list, i)),
			ParentID:          int64(C.bf_batch_list_parent_id(list, i)),
			State:             stateName(BatchStates, C.bf_batch_list_state(list, i)),
			Dimension:         dimensionName(C.bf_batch_list_dimension(list, i)),
			Label:             goString(C.bf_batch_list_label(list, i)),
			Lo:                int64(C.bf_batch_list_lo(list, i)),
			Hi:                int64(C.bf_batch_list_hi(list, i)),
			ParamsJSON:        goString(C.bf_batch_list_params_json(list, i)),
			Token:             int64(C.bf_batch_list_token(list, i)),
			Attempt:           int64(C.bf_batch_list_attempt(list, i)),
			LeaseUntil:        int64(C.bf_batch_list_lease_until(list, i)),
			NotBefore:         int64(C.bf_batch_list_not_before(list, i)),
			Worker:            goString(C.bf_batch_list_worker(list, i)),
			StartedAt:         int64(C.bf_batch_list_started_at(list, i)),
			FinishedAt:        int64(C.bf_batch_list_finished_at(list, i)),
			DurationUs:        int64(C.bf_batch_list_duration_us(list, i)),
			RowsWritten:       int64(C.bf_batch_list_rows_written(list, i)),
			RowsDeleted:       int64(C.bf_batch_list_rows_deleted(list, i)),
			FingerprintBefore: goString(C.bf_batch_list_fingerprint_before(list, i)),
			FingerprintAfter:  goString(C.bf_batch_list_fingerprint_after(list, i)),
			IdempotencyKey:    goString(C.bf_batch_list_idempotency_key(list, i)),
			Error:             goString(C.bf_batch_list_error(list, i)),
		})
	}
	return out, nil
}

// Event is one entry of a run's audit log. From and To are state names (of
// the run or of a batch, by Subject: "run", "batch" or "note"), "" when
// there is none; At is in UTC microseconds.
type Event struct {
	Seq, BatchID      int64
	Subject, From, To string
	Actor             string
	At                int64
	Detail            string
}

// Events lists the run's audit log, oldest first.
func (r *Run) Events() ([]Event, error) {
	var list *C.bf_event_list
	if err := r.call(func() C.int { return C.bf_run_events(&list, r.handle()) }); err != nil {
		return nil, err
	}
	defer C.bf_event_list_free(list)
	n := C.bf_event_list_count(list)
	out := make([]Event, 0, int(n))
	for i := C.size_t(0); i < n; i++ {
		out = append(out, Event{
			Seq:     int64(C.bf_event_list_seq(list, i)),
			BatchID: int64(C.bf_event_list_batch_id(list, i)),
			Subject: goString(C.bf_event_list_subject(list, i)),
			From:    goString(C.bf_event_list_from(list, i)),
			To:      goString(C.bf_event_list_to(list, i)),
			Actor:   goString(C.bf_event_list_actor(list, i)),
			At:      int64(C.bf_event_list_at(list, i)),
			Detail:  goString(C.bf_event_list_detail(list, i)),
		})
	}
	return out, nil
}

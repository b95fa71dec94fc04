package backfill

/*
#include <stdint.h>
#include <stdlib.h>
#include <backfill.h>

extern void bfgoRunEvent(void *userdata, bf_run_event *event);

static void bfgo_on_event(void *userdata, const bf_run_event *event)
{
    bfgoRunEvent(userdata, (bf_run_event *)event);
}

// The handle travels as the userdata pointer; the conversion is done here, not in Go.
static void bfgo_set_on_event(bf_runner_options *o, uintptr_t handle)
{
    o->on_event = bfgo_on_event;
    o->event_userdata = (void *)handle;
}
*/
import "C"

import (
	"encoding/json"
	"io"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// RunnerOptions say how a Runner works; the zero value takes the library's defaults.
type RunnerOptions struct {
	Workers  uint    // worker threads; 0 means the run's max_concurrency
	New      bool    // start a new run even if the brief has an unfinished one, once: a later Run resumes it
	Force    bool    // publish batches whose idempotency key an earlier run already did
	NoWait   bool    // return instead of waiting for batches leased by workers elsewhere
	Operator string  // who runs it; "" means the ledger's actor
	PollS    float64 // how often a waiting runner looks again; 0 means 0.25 s
	// TargetBatchS sizes key-range batches toward this many seconds (adaptive
	// sizing); 0 means the brief's batching.target_batch_s.
	TargetBatchS float64
	// OnEvent receives each event, on the goroutine that called the runner,
	// one at a time. If it panics, the runner stops (as Stop does), no
	// further event is passed, and the panic is raised again from the
	// runner's method once the library has returned.
	OnEvent func(RunEvent)
}

// RunEvent is one event of the runner (docs/runner.md), copied out of the library.
type RunEvent struct {
	Kind        string // "started", "batch_done", ... (bf_run_event_name)
	KindCode    int    // the bf_run_event_kind value
	RunID       int64
	BatchID     int64  // 0 when the event is not about one batch
	BatchLabel  string // "" when not about a batch
	RowsWritten int64  // batch_done: rows written and deleted by the publish
	RowsDeleted int64
	DurationS   float64 // batch_done, batch_failed: the attempt's duration
	Message     string  // a sentence: the failure, why claims are held, ...
	JSON        string  // the whole event as one JSON object ("backfill-event/1")
}

// Runner runs a brief against a SQLite warehouse, recording everything in a
// ledger: the test slice, the run, approval, rollback and cleanup. Its
// methods are called by one goroutine at a time (a second call while one
// runs is ErrState), except Stop, which any goroutine may call.
type Runner struct {
	c *runnerCore
}

// runnerCore owns the bf_runner. The cgo.Handle given to the library as
// the event userdata refers to the core, never to the Runner, so a
// forgotten Runner is still finalized.
type runnerCore struct {
	mu     sync.Mutex // guards p and busy against Close and Stop from other goroutines
	p      *C.bf_runner
	busy   bool
	handle cgo.Handle
	// Set and read on the goroutine making the call (the callback runs on it).
	onEvent    func(RunEvent)
	panicked   bool
	panicValue interface{}
}

var _ io.Closer = (*Runner)(nil)

// NewRunner makes a runner on the ledger at ledgerPath (created when
// absent) and the SQLite warehouse at warehousePath (ErrNotFound when
// there is none). Nothing is written until a run. A path or Operator
// holding a NUL byte, or Workers out of unsigned int's range, is ErrInvalid.
func NewRunner(ledgerPath, warehousePath string, opts RunnerOptions) (*Runner, error) {
	var o C.bf_runner_options
	var a cArgs
	defer a.free()
	cledger := a.str("ledgerPath", ledgerPath)
	cwarehouse := a.str("warehousePath", warehousePath)
	operator := a.optStr("RunnerOptions.Operator", opts.Operator)
	workers := a.uint("RunnerOptions.Workers", opts.Workers)
	if a.err != nil {
		return nil, a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_runner_options_init(&o, C.BF_RUNNER_OPTIONS_VERSION)); err != nil {
		return nil, err
	}
	o.ledger_path = cledger
	o.warehouse_path = cwarehouse
	o.operator_name = operator
	o.workers = workers
	o.poll_s = C.double(opts.PollS)
	o.target_batch_s = C.double(opts.TargetBatchS)
	if opts.New {
		o.flags |= C.BF_RUNNER_NEW
	}
	if opts.Force {
		o.flags |= C.BF_RUNNER_FORCE
	}
	if opts.NoWait {
		o.flags |= C.BF_RUNNER_NO_WAIT
	}
	c := &runnerCore{onEvent: opts.OnEvent}
	if opts.OnEvent != nil {
		c.handle = cgo.NewHandle(c)
		C.bfgo_set_on_event(&o, C.uintptr_t(c.handle))
	}
	var out *C.bf_runner
	if err := lastError(C.bf_runner_new(&out, &o)); err != nil {
		c.free()
		return nil, err
	}
	c.p = out
	r := &Runner{c: c}
	runtime.SetFinalizer(r, (*Runner).finalize)
	return r, nil
}

// free releases the native runner and the handle; c.mu is held, or c is not shared yet.
func (c *runnerCore) free() {
	if c.p != nil {
		C.bf_runner_free(c.p)
		c.p = nil
	}
	if c.handle != 0 {
		c.handle.Delete()
		c.handle = 0
	}
}

// Close releases the runner; using it later panics. It returns nil (closing
// twice is fine), or ErrState while a call on it runs in another goroutine.
func (r *Runner) Close() error {
	if r == nil {
		return nil
	}
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy {
		return &Error{Code: ErrState, Message: "the runner is running: Stop it and let Run return first"}
	}
	c.free()
	runtime.SetFinalizer(r, nil)
	return nil
}

// finalize frees a forgotten runner; no call can be running, since a call keeps r reachable.
func (r *Runner) finalize() {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	r.c.free()
}

// call makes one native call as the runner's only call in flight; a failure
// carries the runner's own message. A panic of OnEvent is raised again here.
func (r *Runner) call(fn func(p *C.bf_runner) C.int) error {
	if r == nil {
		return nilReceiver(r)
	}
	c := r.c
	c.mu.Lock()
	if c.p == nil {
		c.mu.Unlock()
		panic("backfill: use of a closed Runner")
	}
	if c.busy {
		c.mu.Unlock()
		return &Error{Code: ErrState, Message: "the runner is busy: a call on it is still running"}
	}
	c.busy = true
	c.panicked, c.panicValue = false, nil
	p := c.p
	c.mu.Unlock()

	runtime.LockOSThread()
	rc := fn(p)
	var err error
	if rc != C.BF_OK {
		err = &Error{Code: Code(rc), Message: C.GoString(C.bf_runner_last_error(p))}
	}
	runtime.UnlockOSThread()

	panicked, value := c.panicked, c.panicValue
	c.panicked, c.panicValue = false, nil
	c.mu.Lock()
	c.busy = false
	c.mu.Unlock()
	runtime.KeepAlive(r)
	if panicked {
		panic(value)
	}
	return err
}

// SetBrief makes the runner run this brief (copied). ErrBlocked, naming the
// first, when the preflight has blocking findings.
func (r *Runner) SetBrief(b *Brief) error {
	var a cArgs
	if need(&a, "brief", b); a.err != nil {
		return a.err
	}
	// Read before the call: a closed brief's panic must not leave the runner busy.
	bp := b.handle()
	err := r.call(func(p *C.bf_runner) C.int { return C.bf_runner_set_brief(p, bp) })
	runtime.KeepAlive(b)
	return err
}

// Run starts the brief's run, or resumes its unfinished one, and runs every
// batch. It returns the run's id, also with an error once the run exists:
// nil when the run awaits approval (or is approved or completed already);
// ErrValidation when a check failed (the run is paused with its sentence);
// ErrState when the run is paused, cancelled or failed, or Stop stopped
// it; ErrConflict when the target changed.
func (r *Runner) Run() (int64, error) {
	var id C.int64_t
	err := r.call(func(p *C.bf_runner) C.int { return C.bf_runner_run(p, &id) })
	return int64(id), err
}

// Stop asks a running Run to stop: no new claims, batches in flight
// finish, and Run returns ErrState. Safe from any goroutine; nothing
// happens on a closed runner.
func (r *Runner) Stop() {
	if r == nil {
		return
	}
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		C.bf_runner_stop(c.p)
	}
}

// jsonCall makes a call that fills a JSON text, parsed also when the call failed.
func (r *Runner) jsonCall(fn func(out **C.char, p *C.bf_runner) C.int) (map[string]interface{}, error) {
	var out *C.char
	defer func() {
		if out != nil { // not taken: OnEvent's panic is on its way up
			C.bf_free(unsafe.Pointer(out))
		}
	}()
	err := r.call(func(p *C.bf_runner) C.int { return fn(&out, p) })
	if out == nil {
		return nil, err
	}
	text := takeString(out)
	out = nil
	var result map[string]interface{}
	if jerr := json.Unmarshal([]byte(text), &result); jerr != nil && err == nil {
		err = &Error{Code: ErrParse, Message: "the library's JSON: " + jerr.Error()}
	}
	return result, err
}

// TestSlice runs batches (0: 5) representative batches into a scratch copy
// and measures them; the result is the parsed "backfill-test-slice/1" JSON,
// also returned with the error when the slice did not pass (ErrValidation,
// or ErrBlocked for a batch that is not idempotent). A negative batches is
// ErrInvalid.
func (r *Runner) TestSlice(batches int) (map[string]interface{}, error) {
	var a cArgs
	n := a.size("batches", batches)
	if a.err != nil {
		return nil, a.err
	}
	return r.jsonCall(func(out **C.char, p *C.bf_runner) C.int {
		return C.bf_runner_test_slice(out, p, n)
	})
}

// Approve approves run runID as reviewer: the brief's reviewer, never the
// operator (ErrBlocked), then cuts over and refreshes downstream assets.
// A reviewer holding a NUL byte is ErrInvalid.
func (r *Runner) Approve(runID int64, reviewer string) error {
	var a cArgs
	defer a.free()
	creviewer := a.str("reviewer", reviewer)
	if a.err != nil {
		return a.err
	}
	return r.call(func(p *C.bf_runner) C.int {
		return C.bf_runner_approve(p, C.int64_t(runID), creviewer)
	})
}

// Rollback rolls back batch batchID of run runID (0: the whole run) and
// proves it by fingerprints; the result is the parsed "backfill-rollback/1"
// JSON, also returned with the error of a refusal.
func (r *Runner) Rollback(runID, batchID int64) (map[string]interface{}, error) {
	return r.jsonCall(func(out **C.char, p *C.bf_runner) C.int {
		return C.bf_runner_rollback(out, p, C.int64_t(runID), C.int64_t(batchID))
	})
}

// Cleanup drops the run's snapshots, staging and version tables once its
// retention is over (ErrState before); the result is the parsed
// "backfill-cleanup/1" JSON.
func (r *Runner) Cleanup(runID int64) (map[string]interface{}, error) {
	return r.jsonCall(func(out **C.char, p *C.bf_runner) C.int {
		return C.bf_runner_cleanup(out, p, C.int64_t(runID))
	})
}

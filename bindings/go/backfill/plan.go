package backfill

/*
#include <stdlib.h>
#include <backfill.h>

// One call that reads a parameter, so the Go side need not touch the union-like struct.
static int bfgo_param(const bf_batch *b, size_t i, int *type, long long *ival, double *rval,
                      const char **sval, size_t *len)
{
    bf_value v;
    int rc = bf_batch_param_at(&v, b, i);

    if (rc != BF_OK)
        return rc;
    *type = (int)v.type;
    *ival = (long long)v.i;
    *rval = v.r;
    *sval = v.s;
    *len = v.len;
    return BF_OK;
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Plan is an immutable, ordered list of batches pinned by a fingerprint.
type Plan struct {
	p *C.bf_plan
}

// Batch is one batch of a plan, read out of it.
type Batch struct {
	Ordinal int
	Label   string
	Lo, Hi  int64
	// Params holds the bound parameters by name: int64, float64, string or nil.
	Params     map[string]interface{}
	ParamOrder []string
}

func newPlan(p *C.bf_plan) *Plan {
	plan := &Plan{p: p}
	runtime.SetFinalizer(plan, (*Plan).Close)
	return plan
}

// PlanFromJSON reads a plan written by ToJSON (or `backfill plan --json`).
func PlanFromJSON(text string) (*Plan, error) {
	var a cArgs
	defer a.free()
	ctext := a.str("plan JSON", text)
	if a.err != nil {
		return nil, a.err
	}
	var out *C.bf_plan
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_plan_from_json(&out, ctext)); err != nil {
		return nil, err
	}
	return newPlan(out), nil
}

// PlanBrief is the brief's pinned plan, as `backfill plan BRIEF [--warehouse
// DB]` and the runner make it. With warehousePath, a SQLite warehouse that
// must exist (ErrNotFound; nothing is written), every name the brief gives
// is checked against it (ErrInvalid naming the JSON path) and a
// rows_per_batch brief's key boundaries are read from it. With "", the plan
// is made from the brief alone, and a rows_per_batch brief is ErrInvalid.
func PlanBrief(b *Brief, warehousePath string) (*Plan, error) {
	var a cArgs
	defer a.free()
	need(&a, "brief", b)
	cpath := a.optStr("warehousePath", warehousePath)
	if a.err != nil {
		return nil, a.err
	}
	defer runtime.KeepAlive(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.bf_plan
	if cpath != nil {
		var driver *C.bf_driver
		if err := lastError(C.bf_driver_open_sqlite(&driver, cpath, 0)); err != nil {
			return nil, err
		}
		defer C.bf_driver_free(driver)
		if err := lastError(C.bf_driver_plan_brief(&out, driver, b.handle())); err != nil {
			return nil, err
		}
		return newPlan(out), nil
	}
	var planner *C.bf_planner
	if err := lastError(C.bf_planner_new_from_brief(&planner, b.handle())); err != nil {
		return nil, err
	}
	defer C.bf_planner_free(planner)
	if err := lastError(C.bf_planner_plan(&out, planner)); err != nil {
		return nil, err
	}
	// The coverage proof, as the command's.
	if err := lastError(C.bf_plan_verify(out, planner)); err != nil {
		C.bf_plan_free(out)
		return nil, err
	}
	return newPlan(out), nil
}

// Close releases the plan; later calls on it panic. Batches read from it
// are copies and stay valid. It returns nil; closing twice is fine.
func (p *Plan) Close() error {
	if p == nil {
		return nil
	}
	if p.p != nil {
		C.bf_plan_free(p.p)
		p.p = nil
	}
	runtime.SetFinalizer(p, nil)
	return nil
}

func (p *Plan) handle() *C.bf_plan {
	if p == nil {
		panic(usedNil(p))
	}
	if p.p == nil {
		panic("backfill: use of a closed Plan")
	}
	return p.p
}

// ToJSON writes the plan as JSON that PlanFromJSON reads back identically.
func (p *Plan) ToJSON() (string, error) {
	if p == nil {
		return "", nilReceiver(p)
	}
	var out *C.char
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := C.bf_plan_to_json(&out, p.handle())
	runtime.KeepAlive(p)
	if err := lastError(rc); err != nil {
		return "", err
	}
	defer C.bf_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}

// Fingerprint is the plan's 32-hex-digit fingerprint.
func (p *Plan) Fingerprint() string {
	defer runtime.KeepAlive(p)
	return C.GoString(C.bf_plan_fingerprint(p.handle()))
}

// Dimension is "time", "key", "partition" or "bucket".
func (p *Plan) Dimension() string {
	defer runtime.KeepAlive(p)
	return C.GoString(C.bf_dimension_name(C.bf_plan_dimension(p.handle())))
}

// Column is the batching column of the target table.
func (p *Plan) Column() string {
	defer runtime.KeepAlive(p)
	return C.GoString(C.bf_plan_column(p.handle()))
}

// Len is the number of batches.
func (p *Plan) Len() int {
	defer runtime.KeepAlive(p)
	return int(C.bf_plan_count(p.handle()))
}

// Batch reads batch i (0-based, in plan order).
func (p *Plan) Batch(i int) (Batch, error) {
	if p == nil {
		return Batch{}, nilReceiver(p)
	}
	defer runtime.KeepAlive(p)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if i < 0 || i >= p.Len() {
		return Batch{}, &Error{Code: ErrNotFound, Message: "no such batch"}
	}
	b := C.bf_plan_batch(p.handle(), C.size_t(i))
	out := Batch{
		Ordinal: int(C.bf_batch_ordinal(b)),
		Label:   C.GoString(C.bf_batch_label(b)),
		Lo:      int64(C.bf_batch_lo(b)),
		Hi:      int64(C.bf_batch_hi(b)),
		Params:  map[string]interface{}{},
	}
	n := int(C.bf_batch_param_count(b))
	for k := 0; k < n; k++ {
		var typ C.int
		var ival C.longlong
		var rval C.double
		var sval *C.char
		var length C.size_t
		if err := lastError(C.bfgo_param(b, C.size_t(k), &typ, &ival, &rval, &sval, &length)); err != nil {
			return Batch{}, err
		}
		name := C.GoString(C.bf_batch_param_name(b, C.size_t(k)))
		out.ParamOrder = append(out.ParamOrder, name)
		switch typ {
		case C.BF_VALUE_INT:
			out.Params[name] = int64(ival)
		case C.BF_VALUE_REAL:
			out.Params[name] = float64(rval)
		case C.BF_VALUE_TEXT:
			out.Params[name] = C.GoStringN(sval, C.int(length))
		default:
			out.Params[name] = nil
		}
	}
	return out, nil
}

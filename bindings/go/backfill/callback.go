package backfill

// The event callback the library calls. This file has the //export, so its
// preamble holds declarations only (cgo copies it into two C files); the C
// trampoline that casts away const is in runner.go.

/*
#include <backfill.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// bfgoRunEvent passes one event to the runner's OnEvent. userdata is the
// runner's cgo.Handle. It runs on the goroutine that called into the
// runner, so a panic is recovered here (it must not unwind through C),
// stops the runner and is raised again once the call has returned.
//
//export bfgoRunEvent
func bfgoRunEvent(userdata unsafe.Pointer, ev *C.bf_run_event) {
	c := cgo.Handle(uintptr(userdata)).Value().(*runnerCore)
	if c.onEvent == nil || c.panicked {
		return
	}
	e := RunEvent{
		KindCode:    int(ev.kind),
		RunID:       int64(ev.run_id),
		BatchID:     int64(ev.batch_id),
		RowsWritten: int64(ev.rows_written),
		RowsDeleted: int64(ev.rows_deleted),
		DurationS:   float64(ev.duration_s),
	}
	if name := C.bf_run_event_name(ev.kind); name != nil {
		e.Kind = C.GoString(name)
	}
	if ev.batch_label != nil {
		e.BatchLabel = C.GoString(ev.batch_label)
	}
	if ev.message != nil {
		e.Message = C.GoString(ev.message)
	}
	if ev.json != nil {
		e.JSON = C.GoString(ev.json)
	}
	defer func() {
		if v := recover(); v != nil {
			c.panicked, c.panicValue = true, v
			C.bf_runner_stop(c.p)
		}
	}()
	c.onEvent(e)
}

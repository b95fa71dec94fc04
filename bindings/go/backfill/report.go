package backfill

/*
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// ReportStages and ReportFormats name the reports' stages and formats.
var (
	ReportStages  = []string{"before", "during", "after"}
	ReportFormats = []string{"markdown", "json"}
)

// reportArgs checks a stage and a format by name, before anything is called.
func reportArgs(stage, format string) (C.bf_report_stage, C.bf_report_format, error) {
	s, f := -1, -1
	for i, name := range ReportStages {
		if name == stage {
			s = i + 1
		}
	}
	for i, name := range ReportFormats {
		if name == format {
			f = i + 1
		}
	}
	if s < 0 {
		return 0, 0, &Error{Code: ErrInvalid, Message: fmt.Sprintf(
			"report stage %q: expected one of %s", stage, strings.Join(ReportStages, ", "))}
	}
	if f < 0 {
		return 0, 0, &Error{Code: ErrInvalid, Message: fmt.Sprintf(
			"report format %q: expected one of %s", format, strings.Join(ReportFormats, ", "))}
	}
	return C.bf_report_stage(s), C.bf_report_format(f), nil
}

// takeString copies a library-allocated string and frees it.
func takeString(p *C.char) string {
	defer C.bf_free(unsafe.Pointer(p))
	return C.GoString(p)
}

// ReportRun is the report of a run (by id, "12", or by brief name: its
// latest run) at stage ("before", "during", "after") in format ("markdown",
// "json"), read from the ledger only.
func ReportRun(l *Ledger, ref string, stage, format string) (string, error) {
	cs, cf, err := reportArgs(stage, format)
	if err != nil {
		return "", err
	}
	var a cArgs
	defer a.free()
	need(&a, "ledger", l)
	cref := a.str("ref", ref)
	if a.err != nil {
		return "", a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.lock()()
	var id C.int64_t
	if err := lastError(C.bf_ledger_find_run(&id, l.handle(), cref)); err != nil {
		return "", err
	}
	var out *C.char
	if err := lastError(C.bf_report_run(&out, l.handle(), id, cs, cf)); err != nil {
		return "", err
	}
	return takeString(out), nil
}

// ReportBrief is the announcement from a brief alone, before any run
// exists: stage must be "before" (ErrInvalid otherwise).
func ReportBrief(b *Brief, stage, format string) (string, error) {
	cs, cf, err := reportArgs(stage, format)
	if err != nil {
		return "", err
	}
	var a cArgs
	if need(&a, "brief", b); a.err != nil {
		return "", a.err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.char
	err = lastError(C.bf_report_brief(&out, b.handle(), cs, cf))
	runtime.KeepAlive(b)
	if err != nil {
		return "", err
	}
	return takeString(out), nil
}

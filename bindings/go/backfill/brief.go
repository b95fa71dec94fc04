package backfill

/*
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import "runtime"

// Brief is a backfill brief (docs/brief.md), checked as the library loads
// it: for the runner and the reports.
type Brief struct {
	p *C.bf_brief
}

func newBrief(p *C.bf_brief) *Brief {
	b := &Brief{p: p}
	runtime.SetFinalizer(b, (*Brief).Close)
	return b
}

// BriefFromFile loads the brief in the file at path (ErrNotFound when there
// is none, ErrParse or ErrInvalid naming the place at fault).
func BriefFromFile(path string) (*Brief, error) {
	var a cArgs
	defer a.free()
	cpath := a.str("path", path)
	if a.err != nil {
		return nil, a.err
	}
	var out *C.bf_brief
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_brief_load_file(&out, cpath)); err != nil {
		return nil, err
	}
	return newBrief(out), nil
}

// BriefFromJSON loads a brief from its JSON text: ErrParse for a syntax
// error ("line:column: ..."), ErrInvalid for a wrong field ("$.path: ...").
// The text's length goes with it, so a NUL byte in it is an ErrParse at its place.
func BriefFromJSON(text string) (*Brief, error) {
	var a cArgs
	defer a.free()
	ctext, n := a.text(text)
	var out *C.bf_brief
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_brief_load_json(&out, ctext, n)); err != nil {
		return nil, err
	}
	return newBrief(out), nil
}

// Close releases the brief; later calls on it panic. A runner given the
// brief keeps its own copy. It returns nil; closing twice is fine.
func (b *Brief) Close() error {
	if b == nil {
		return nil
	}
	if b.p != nil {
		C.bf_brief_free(b.p)
		b.p = nil
	}
	runtime.SetFinalizer(b, nil)
	return nil
}

func (b *Brief) handle() *C.bf_brief {
	if b == nil {
		panic(usedNil(b))
	}
	if b.p == nil {
		panic("backfill: use of a closed Brief")
	}
	return b.p
}

// Name is the brief's name.
func (b *Brief) Name() string {
	defer runtime.KeepAlive(b)
	return C.GoString(C.bf_brief_name(b.handle()))
}

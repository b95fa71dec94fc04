package backfill

/*
#include <stdlib.h>
#include <string.h>
#include <backfill.h>

// Values are built in C memory, so C never holds a Go pointer.
static bf_value *bfgo_values(size_t n) { return calloc(n ? n : 1, sizeof(bf_value)); }

static void bfgo_set(bf_value *v, size_t i, int type, long long ival, double rval,
                     const char *s, size_t len)
{
    v[i].type = (bf_value_type)type;
    v[i].i = ival;
    v[i].r = rval;
    v[i].s = s;
    v[i].len = len;
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Fingerprint is the order-independent multiset fingerprint of rows
// (docs/fingerprint.md): equal fingerprints mean equal multisets of rows.
// A row's values are nil, int64 (or int), float64, string or []byte.
type Fingerprint struct {
	fp C.bf_fingerprint
}

// Rows is the number of rows the fingerprint covers.
func (f *Fingerprint) Rows() uint64 { return uint64(f.c().fp.rows) }

// c is f, which must not be nil: a nil *Fingerprint has no value to read.
func (f *Fingerprint) c() *Fingerprint {
	if f == nil {
		panic(usedNil(f))
	}
	return f
}

// String is the text form "rows:hex32".
func (f *Fingerprint) String() string {
	f = f.c()
	var buf [64]C.char
	C.bf_fingerprint_format(&buf[0], C.size_t(len(buf)), &f.fp)
	return C.GoString(&buf[0])
}

// Equal reports whether two fingerprints are equal; a nil *Fingerprint is
// equal only to nil.
func (f *Fingerprint) Equal(other *Fingerprint) bool {
	if f == nil || other == nil {
		return f == other
	}
	return C.bf_fingerprint_equal(&f.fp, &other.fp) == 1
}

// ParseFingerprint reads the text form "rows:hex32".
func ParseFingerprint(text string) (*Fingerprint, error) {
	var a cArgs
	defer a.free()
	ctext := a.str("fingerprint text", text)
	if a.err != nil {
		return nil, a.err
	}
	out := &Fingerprint{}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := lastError(C.bf_fingerprint_parse(&out.fp, ctext)); err != nil {
		return nil, err
	}
	return out, nil
}

// FingerprintRows is the fingerprint of the given rows.
func FingerprintRows(rows [][]interface{}) (*Fingerprint, error) {
	f := &Fingerprint{}
	for _, row := range rows {
		if err := f.AddRow(row...); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// AddRow adds one row.
func (f *Fingerprint) AddRow(values ...interface{}) error {
	return f.row(values, false)
}

// RemoveRow removes one row (the inverse of AddRow).
func (f *Fingerprint) RemoveRow(values ...interface{}) error {
	return f.row(values, true)
}

func (f *Fingerprint) row(values []interface{}, remove bool) error {
	if f == nil {
		return nilReceiver(f)
	}
	n := C.size_t(len(values))
	cv := C.bfgo_values(n)
	if cv == nil {
		return &Error{Code: ErrNoMem, Message: "out of memory"}
	}
	defer C.free(unsafe.Pointer(cv))
	var texts []unsafe.Pointer
	defer func() {
		for _, p := range texts {
			C.free(p)
		}
	}()
	for i, v := range values {
		ci := C.size_t(i)
		switch x := v.(type) {
		case nil:
			C.bfgo_set(cv, ci, C.BF_VALUE_NULL, 0, 0, nil, 0)
		case int:
			C.bfgo_set(cv, ci, C.BF_VALUE_INT, C.longlong(x), 0, nil, 0)
		case int64:
			C.bfgo_set(cv, ci, C.BF_VALUE_INT, C.longlong(x), 0, nil, 0)
		case float64:
			C.bfgo_set(cv, ci, C.BF_VALUE_REAL, 0, C.double(x), nil, 0)
		case string:
			p := C.CBytes([]byte(x + "\x00"))
			texts = append(texts, p)
			C.bfgo_set(cv, ci, C.BF_VALUE_TEXT, 0, 0, (*C.char)(p), C.size_t(len(x)))
		case []byte:
			p := C.CBytes(append(append([]byte{}, x...), 0))
			texts = append(texts, p)
			C.bfgo_set(cv, ci, C.BF_VALUE_BLOB, 0, 0, (*C.char)(p), C.size_t(len(x)))
		default:
			return &Error{Code: ErrInvalid, Message: fmt.Sprintf("cannot fingerprint a %T", v)}
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if remove {
		return lastError(C.bf_fingerprint_remove_row(&f.fp, cv, n))
	}
	return lastError(C.bf_fingerprint_add_row(&f.fp, cv, n))
}

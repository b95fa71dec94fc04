// Package backfill is the Go binding of libbackfill, through cgo.
//
// Handles are Go values with an explicit Close, backed by a finalizer for
// the ones a program forgets. Failures are *Error values carrying the
// library's BF_E_* code and message.
package backfill

/*
#cgo pkg-config: libbackfill
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import "fmt"

// Status codes of libbackfill (BF_E_*).
const (
	ErrInvalid     = -1
	ErrParse       = -2
	ErrNoMem       = -3
	ErrIO          = -4
	ErrNotFound    = -5
	ErrConflict    = -6
	ErrState       = -7
	ErrLeaseLost   = -8
	ErrBlocked     = -9
	ErrValidation  = -10
	ErrBusy        = -11
	ErrDriver      = -12
	ErrUnsupported = -13
	ErrUser        = -14
	ErrABI         = -15
	ErrInternal    = -16
)

// Error is a failed libbackfill call.
type Error struct {
	Code    int    // the BF_E_* value
	Message string // names the thing at fault
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", ErrorName(e.Code), e.Message)
}

// Is lets errors.Is match on the code: errors.Is(err, &backfill.Error{Code: backfill.ErrConflict}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// ErrorName is the symbolic name of a status code, e.g. "BF_E_PARSE".
func ErrorName(code int) string {
	return C.GoString(C.bf_errstr(C.int(code)))
}

// lastError wraps a failed status. It must run on the OS thread that made
// the call; every caller does so within the same cgo-calling function, and
// handles that outlive a call keep their own message for the rest.
func lastError(rc C.int) error {
	if rc == C.BF_OK {
		return nil
	}
	return &Error{Code: int(rc), Message: C.GoString(C.bf_last_error())}
}

// Version is the linked library's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.bf_version_string())
}

// VersionNumber is the linked library's BF_VERSION_NUMBER.
func VersionNumber() uint {
	return uint(C.bf_version())
}

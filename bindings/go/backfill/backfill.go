// Package backfill is the Go binding of libbackfill, through cgo.
//
// Handles are Go values with an explicit Close (they are io.Closers),
// backed by a finalizer for the ones a program forgets. Failures are *Error
// values carrying the library's BF_E_* Code and message; errors.Is(err,
// backfill.ErrLeaseLost) tests the code.
package backfill

/*
#cgo pkg-config: libbackfill
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import "fmt"

// Code is a libbackfill status code (BF_E_*). It is an error itself, so
// errors.Is(err, backfill.ErrLeaseLost) tests a failure's code, and
// errors.As(err, &code) reads it.
type Code int

// Status codes of libbackfill (BF_E_*).
const (
	ErrInvalid     Code = -1
	ErrParse       Code = -2
	ErrNoMem       Code = -3
	ErrIO          Code = -4
	ErrNotFound    Code = -5
	ErrConflict    Code = -6
	ErrState       Code = -7
	ErrLeaseLost   Code = -8
	ErrBlocked     Code = -9
	ErrValidation  Code = -10
	ErrBusy        Code = -11
	ErrDriver      Code = -12
	ErrUnsupported Code = -13
	ErrUser        Code = -14
	ErrABI         Code = -15
	ErrInternal    Code = -16
)

// Error is the code's symbolic name, e.g. "BF_E_LEASE_LOST".
func (c Code) Error() string { return ErrorName(c) }

// Error is a failed libbackfill call.
type Error struct {
	Code    Code   // the BF_E_* value
	Message string // names the thing at fault
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", ErrorName(e.Code), e.Message)
}

// Is matches on the code: errors.Is(err, backfill.ErrConflict), or
// errors.Is(err, &backfill.Error{Code: backfill.ErrConflict}).
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return t == e.Code
	case *Error:
		return t != nil && t.Code == e.Code
	}
	return false
}

// Unwrap gives the code, so errors.As(err, &code) finds it.
func (e *Error) Unwrap() error { return e.Code }

// ErrorName is the symbolic name of a status code, e.g. "BF_E_PARSE".
func ErrorName(code Code) string {
	return C.GoString(C.bf_errstr(C.int(code)))
}

// lastError wraps a failed status. It must run on the OS thread that made
// the call; every caller does so within the same cgo-calling function, and
// handles that outlive a call keep their own message for the rest.
func lastError(rc C.int) error {
	if rc == C.BF_OK {
		return nil
	}
	return &Error{Code: Code(rc), Message: C.GoString(C.bf_last_error())}
}

// Version is the linked library's version, e.g. "0.1.0".
func Version() string {
	return C.GoString(C.bf_version_string())
}

// VersionNumber is the linked library's BF_VERSION_NUMBER.
func VersionNumber() uint {
	return uint(C.bf_version())
}

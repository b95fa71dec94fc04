// Package backfill is the Go binding of libbackfill, through cgo.
//
// Handles are Go values with an explicit Close (they are io.Closers),
// backed by a finalizer for the ones a program forgets. Failures are *Error
// values carrying the library's BF_E_* Code and message; errors.Is(err,
// backfill.ErrLeaseLost) tests the code.
package backfill

/*
#cgo pkg-config: libbackfill
#include <limits.h>
#include <stdlib.h>
#include <backfill.h>
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

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

// ErrorName is the symbolic name of a status code, e.g. "BF_E_PARSE", and
// "BF_E_UNKNOWN" for a code the library does not know, one out of C int's
// range included (converted, it would keep its low bits: another code).
func ErrorName(code Code) string {
	if Code(C.int(code)) != code {
		code = Code(C.INT_MIN) // no code either, and one that C int holds
	}
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

// cArgs converts one call's arguments into C, checked: C would read a
// string only up to its first NUL byte, and a Go conversion into a C integer
// type keeps the low bits of a value out of its range, so either would pass
// C something other than what the caller gave. The first argument refused
// is kept in err, an *Error with ErrInvalid naming it; the caller returns
// err before calling the library, and defers free.
type cArgs struct {
	err   error
	frees []unsafe.Pointer
}

func (a *cArgs) refuse(format string, v ...interface{}) {
	if a.err == nil {
		a.err = &Error{Code: ErrInvalid, Message: fmt.Sprintf(format, v...)}
	}
}

// need refuses p, a handle argument (a *Plan, *Brief, *Ledger, *Lease),
// when it is nil: cgo would dereference it, or pass the library NULL.
func need[T any](a *cArgs, what string, p *T) {
	if p == nil {
		a.refuse("%s must be a %T, not nil", what, p)
	}
}

// nilReceiver is the error of a method that returns one, called on a nil
// handle; methods without an error panic with usedNil's message instead,
// as they do for a closed handle, and Close does nothing.
func nilReceiver[T any](p *T) error {
	return &Error{Code: ErrInvalid, Message: usedNil(p)}
}

func usedNil[T any](p *T) string {
	return fmt.Sprintf("backfill: use of a nil %T", p)
}

// str is s as a C string in C memory; nil when s holds a NUL byte (refused).
func (a *cArgs) str(what, s string) *C.char {
	if i := strings.IndexByte(s, 0); i >= 0 {
		a.refuse("%s holds a NUL byte at index %d, where C would end it", what, i)
		return nil
	}
	p := C.CString(s)
	a.frees = append(a.frees, unsafe.Pointer(p))
	return p
}

// optStr is str, or NULL for "" (the library's default).
func (a *cArgs) optStr(what, s string) *C.char {
	if s == "" {
		return nil
	}
	return a.str(what, s)
}

// text is s in C memory with its length, for a call that takes both: a NUL
// byte reaches the library, which refuses it at its place (ErrParse).
func (a *cArgs) text(s string) (*C.char, C.size_t) {
	p := C.CString(s)
	a.frees = append(a.frees, unsafe.Pointer(p))
	return p, C.size_t(len(s))
}

// uint is n as a C unsigned int.
func (a *cArgs) uint(what string, n uint) C.uint {
	if c := C.uint(n); uint(c) != n {
		a.refuse("%s is out of range for unsigned int (0..%d); got %d", what, ^C.uint(0), n)
	}
	return C.uint(n)
}

// int is n as a C int.
func (a *cArgs) int(what string, n int) C.int {
	if c := C.int(n); int(c) != n {
		a.refuse("%s is out of range for int (%d..%d); got %d", what, C.INT_MIN, C.INT_MAX, n)
	}
	return C.int(n)
}

// size is n, a count, as a C size_t.
func (a *cArgs) size(what string, n int) C.size_t {
	if n < 0 {
		a.refuse("%s must not be negative (it is a C size_t); got %d", what, n)
	}
	return C.size_t(n)
}

// free releases the strings made for the call.
func (a *cArgs) free() {
	for _, p := range a.frees {
		C.free(p)
	}
	a.frees = nil
}

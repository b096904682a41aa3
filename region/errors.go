package region

import (
	"errors"
	"fmt"
	"runtime/debug"
)

var (
	// ErrNotConfigured is returned by every cache operation on a region
	// whose Configure has not been called yet.
	ErrNotConfigured = errors.New("region: not configured; call Configure (or ConfigureFromConfig) first")

	// ErrAlreadyConfigured is returned by Configure on a region that has a
	// backend already, unless Config.ReplaceExisting is set.
	ErrAlreadyConfigured = errors.New("region: already configured; set Config.ReplaceExisting to replace the backend")

	// ErrBadConfig is returned, wrapped with what was wrong, by Configure
	// and ConfigureFromConfig.
	ErrBadConfig = errors.New("region: invalid configuration")

	// ErrTypeMismatch is returned when a key holds a value of another type
	// than the one asked for: two call sites use one key for two types.
	ErrTypeMismatch = errors.New("region: cached value has another type")

	// ErrCreatorResult is returned when a multi-key creator returns a
	// number of values other than the number of keys it was given.
	ErrCreatorResult = errors.New("region: creator returned the wrong number of values")

	// ErrCreatorExited is the error every waiter gets when a creator ends
	// its goroutine with runtime.Goexit (t.FailNow called in a creator,
	// say) instead of returning. As after a panic, no lock stays held and
	// nothing is cached.
	ErrCreatorExited = errors.New("region: creator called runtime.Goexit")
)

// PanicError is the error every waiter gets when a creation panics: the
// creator, or what runs around it on the creation's goroutine (the
// backend's store or lock, an observer's hook). The panic does not escape
// that goroutine, no lock stays held, and the value is not cached.
type PanicError struct {
	// Key is the key (or first key, for a multi-key creator) being created.
	Key string
	// Value is what the creator panicked with.
	Value any
	// Stack is the creator's stack when it panicked.
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("region: creation of key %q panicked: %v\n\n%s", e.Key, e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// abortErr is the error every waiter gets when a creation for key ended
// without returning: a *PanicError for a panic (p), else ErrCreatorExited
// (runtime.Goexit). Call it from the deferred function that recovered p.
func abortErr(key string, p any) error {
	if p != nil {
		return &PanicError{Key: key, Value: p, Stack: debug.Stack()}
	}
	return fmt.Errorf("%w (key %q)", ErrCreatorExited, key)
}

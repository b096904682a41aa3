package testenv_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recordTB stands in for a test to see how testenv ends it: Fatal and Skip
// are recorded and end the goroutine, as the real ones do.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recordTB) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}

// record runs fn with a recordTB standing in for t, in a goroutine of its
// own so that Goexit ends only that.
func record(t *testing.T, fn func(tb testing.TB)) *recordTB {
	t.Helper()
	r := &recordTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

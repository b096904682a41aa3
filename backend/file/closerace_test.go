package file_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
)

// An operation that Close overtakes, one that had already started but had
// not reached the file yet, fails with ErrClosed, not with an error about
// the read-write lock file that Close closed under it.
func TestCloseDuringOperations(t *testing.T) {
	for range 20 {
		s := newStore(t, file.Options{NoSync: true})
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			other []error
		)
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				for {
					var err error
					if i%2 == 0 {
						_, _, err = s.Get(ctxBg, "k")
					} else {
						err = s.Set(ctxBg, "k", entry("v"))
					}
					if err == nil {
						continue
					}
					if !errors.Is(err, backend.ErrClosed) {
						mu.Lock()
						other = append(other, err)
						mu.Unlock()
					}
					return
				}
			})
		}
		close(start)
		time.Sleep(5 * time.Millisecond) // let the operations get going
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("operations overtaken by Close failed with %d errors other than ErrClosed, the first: %v", len(other), other[0])
		}
	}
}

package memcached

import (
	"errors"
	"io"
	"syscall"
)

// retryStale runs call, and again while it fails on a connection the
// server had closed, up to once per idle connection the client keeps and
// once more. After a server restarts, each idle connection fails the next
// call made on it (EOF, reset, broken pipe) although the server is back;
// the failed connection is dropped, and the next try takes another one or
// dials afresh, so a restart costs no failed call. Such failures come at
// once, so the retries cost no time. Only calls whose repetition is
// harmless go through here: reads, set and delete; add, which looks at the
// item's token after a retry (see [Mutex.TryLock]); a tag version's
// increment (done twice, it moves the version further on, which
// invalidates no more than one bump) and the tag marks' compare-and-swap
// (repeated, it fails on the changed token, and its caller reads again).
// Timeouts are not retried, so that a hung server costs one timeout per
// call, not two.
func (s *Store) retryStale(call func() error) error {
	err := call()
	for i := 0; i < s.client.MaxIdleConns && staleConn(err); i++ {
		err = call()
	}
	return err
}

// staleConn reports whether err is what a connection closed by the server
// gives.
func staleConn(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

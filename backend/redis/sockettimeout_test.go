package redis_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/backend"
)

// A negative socket_timeout is refused: go-redis takes a negative timeout
// as "set no deadline", so a stuck server would block calls for good.
func TestNegativeSocketTimeoutIsRefused(t *testing.T) {
	b, err := backend.Open("redis", backend.Arguments{"url": "redis://127.0.0.1:1", "socket_timeout": "-5"})
	if err == nil {
		backend.Close(b)
	}
	if !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), "socket_timeout") {
		t.Fatalf("socket_timeout -5: err %v, want ErrBadArgument naming socket_timeout", err)
	}
}

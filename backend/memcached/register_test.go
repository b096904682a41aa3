package memcached_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/memcached"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/serializer"
)

func TestRegistry(t *testing.T) {
	addr := testenv.SharedMemcached(t).Addr()
	tests := []struct {
		name    string
		args    backend.Arguments
		wantErr string // a word the error must hold; "" for success
		check   func(t *testing.T, s *memcached.Store)
	}{
		{name: "url only", args: backend.Arguments{"url": addr}, check: func(t *testing.T, s *memcached.Store) {
			if s.Serializer() != serializer.Default || s.KeyMangler() == nil || s.Mutex("k") == nil {
				t.Error("defaults: want the default serializer, a key mangler and a lock")
			}
		}},
		{name: "all as strings", args: backend.Arguments{
			"url": addr + ", " + addr, "key_prefix": "app:", "key_mangling": "false",
			"memcached_expire_time": "3600", "socket_timeout": "250ms", "max_idle_conns": "4",
			"serializer": "gob", "distributed_lock": "yes", "lock_timeout": "5",
			"lock_wait": "0.02", "lock_wait_max": "1s", "lock_blocking_timeout": "10",
		}, check: func(t *testing.T, s *memcached.Store) {
			if s.Serializer() != serializer.Gob {
				t.Errorf("serializer = %v, want gob", s.Serializer())
			}
			if s.KeyMangler() != nil {
				t.Error("key_mangling false: KeyMangler() != nil")
			}
			if got := s.ServerKey("k"); got != "app:k" {
				t.Errorf("key_prefix: server key %q, want app:k", got)
			}
			checkDefaultTTL(t, s, addr, time.Hour)
		}},
		{name: "url as a list", args: backend.Arguments{"url": []any{addr}, "distributed_lock": false}, check: func(t *testing.T, s *memcached.Store) {
			if s.Mutex("k") != nil {
				t.Error("distributed_lock false: Mutex != nil")
			}
		}},
		{name: "unknown argument", args: backend.Arguments{"url": addr, "lock_timout": 5}, wantErr: "lock_timout"},
		{name: "no url", args: backend.Arguments{}, wantErr: "url"},
		{name: "empty url", args: backend.Arguments{"url": " , "}, wantErr: "url"},
		{name: "bad duration", args: backend.Arguments{"url": addr, "lock_timeout": "soon"}, wantErr: "lock_timeout"},
		{name: "lock timeout under 2s", args: backend.Arguments{"url": addr, "lock_timeout": 1}, wantErr: "1s"},
		{name: "negative expire time", args: backend.Arguments{"url": addr, "memcached_expire_time": -5}, wantErr: "-5s"},
		{name: "bad bool", args: backend.Arguments{"url": addr, "distributed_lock": "perhaps"}, wantErr: "distributed_lock"},
		{name: "unknown serializer", args: backend.Arguments{"url": addr, "serializer": "pickle"}, wantErr: "pickle"},
		{name: "prefix with a space", args: backend.Arguments{"url": addr, "key_prefix": "my app"}, wantErr: "my app"},
		{name: "prefix too long", args: backend.Arguments{"url": addr, "key_prefix": strings.Repeat("p", 201)}, wantErr: "key prefix"},
		{name: "bad address", args: backend.Arguments{"url": "no-port"}, wantErr: "no-port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open("memcached", tc.args)
			if tc.wantErr != "" {
				if !errors.Is(err, backend.ErrBadArgument) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%v) = %v, want ErrBadArgument naming %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = backend.Close(b) })
			tc.check(t, b.(*memcached.Store))
		})
	}
}

func checkDefaultTTL(t *testing.T, s *memcached.Store, addr string, want time.Duration) {
	t.Helper()
	e := backend.Entry{Data: []byte("v"), Meta: backend.Metadata{Created: time.Now(), Version: 1}}
	if err := s.Set(ctxBg, "registry-ttl", e); err != nil {
		t.Fatal(err)
	}
	checkTTL(t, addr, s.ServerKey("registry-ttl"), want)
}

package file_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/serializer"
)

func TestRegistry(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cache.db")
	tests := []struct {
		name    string
		args    backend.Arguments
		wantErr string // a word the error must hold; "" for success
		check   func(t *testing.T, s *file.Store)
	}{
		{name: "filename only", args: backend.Arguments{"filename": db}, check: func(t *testing.T, s *file.Store) {
			if s.Serializer() != serializer.Default || s.Mutex("k") == nil {
				t.Error("defaults: want the default serializer and a lock")
			}
			if s.RWLockPath() != db+".rw.lock" || !strings.HasPrefix(s.LockPath("k"), db+".locks/") {
				t.Errorf("default lock files: %s, %s", s.RWLockPath(), s.LockPath("k"))
			}
		}},
		{name: "all as strings", args: backend.Arguments{
			"filename": db, "rw_lockfile": filepath.Join(dir, "rw"), "lock_dir": filepath.Join(dir, "locks"),
			"distributed_lock": "true", "timeout": "2s", "lock_wait": "0.01", "lock_wait_max": "50ms",
			"lock_blocking_timeout": "30", "purge_interval": "1h", "no_sync": "yes", "serializer": "json",
		}, check: func(t *testing.T, s *file.Store) {
			if s.Serializer() != serializer.JSON {
				t.Errorf("serializer = %v, want json", s.Serializer())
			}
			if s.RWLockPath() != filepath.Join(dir, "rw") || filepath.Dir(s.LockPath("k")) != filepath.Join(dir, "locks") {
				t.Errorf("lock files: %s, %s", s.RWLockPath(), s.LockPath("k"))
			}
			if _, err := os.Stat(filepath.Join(dir, "locks")); err != nil {
				t.Errorf("lock_dir not made: %v", err)
			}
		}},
		{name: "no lock", args: backend.Arguments{"filename": db, "distributed_lock": "false"}, check: func(t *testing.T, s *file.Store) {
			if s.Mutex("k") != nil {
				t.Error("distributed_lock false: Mutex != nil")
			}
		}},
		{name: "unknown argument", args: backend.Arguments{"filename": db, "dogpile_lockfile": "x"}, wantErr: "dogpile_lockfile"},
		{name: "no filename", args: backend.Arguments{}, wantErr: "filename"},
		{name: "missing directory", args: backend.Arguments{"filename": filepath.Join(dir, "nowhere", "c.db")}, wantErr: "nowhere"},
		{name: "bad duration", args: backend.Arguments{"filename": db, "timeout": "later"}, wantErr: "timeout"},
		{name: "negative wait", args: backend.Arguments{"filename": db, "lock_wait": -1}, wantErr: "LockWait"},
		{name: "bad bool", args: backend.Arguments{"filename": db, "no_sync": "maybe"}, wantErr: "no_sync"},
		{name: "unknown serializer", args: backend.Arguments{"filename": db, "serializer": "pickle"}, wantErr: "pickle"},
		{name: "lock_dir is a file", args: backend.Arguments{"filename": db, "lock_dir": db}, wantErr: "lock_dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backend.Open("file", tc.args)
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
			tc.check(t, b.(*file.Store))
		})
	}
}

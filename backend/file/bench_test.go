package file_test

import (
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/file"
)

// The store's cost per operation, which opens and closes the data file
// each time, against bbolt's own on a file kept open (which would hold the
// file's lock for good, and so is not what the store can do).
func BenchmarkStore(b *testing.B) {
	payload := entry(string(make([]byte, 200)))
	for _, noSync := range []bool{false, true} {
		name := "sync"
		if noSync {
			name = "nosync"
		}
		s := newStore(b, file.Options{NoSync: noSync})
		for i := range 1000 {
			if err := s.Set(ctxBg, fmt.Sprint("key", i), payload); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("Get/"+name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, ok, err := s.Get(ctxBg, fmt.Sprint("key", i%1000)); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run("GetParallel/"+name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if _, ok, err := s.Get(ctxBg, fmt.Sprint("key", i%1000)); !ok || err != nil {
						b.Fatal(ok, err)
					}
				}
			})
		})
		b.Run("Set/"+name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if err := s.Set(ctxBg, fmt.Sprint("key", i%1000), payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("GetMulti10/"+name, func(b *testing.B) {
			keys := make([]string, 10)
			for i := range keys {
				keys[i] = fmt.Sprint("key", i*7)
			}
			for b.Loop() {
				if _, err := s.GetMulti(ctxBg, keys); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("SetMulti10/"+name, func(b *testing.B) {
			entries := make([]backend.KeyedEntry, 10)
			for i := range entries {
				entries[i] = backend.KeyedEntry{Key: fmt.Sprint("key", i*7), Entry: payload}
			}
			for b.Loop() {
				if err := s.SetMulti(ctxBg, entries, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("bbolt kept open/Get", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "open.db"), 0o644, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		v := backend.MarshalRecord(payload)
		_ = db.Update(func(tx *bolt.Tx) error {
			bk, _ := tx.CreateBucketIfNotExists([]byte("b"))
			for i := range 1000 {
				_ = bk.Put(fmt.Append(nil, "key", i), v)
			}
			return nil
		})
		for i := 0; b.Loop(); i++ {
			_ = db.View(func(tx *bolt.Tx) error {
				_, _ = backend.UnmarshalRecord(tx.Bucket([]byte("b")).Get(fmt.Append(nil, "key", i%1000)))
				return nil
			})
		}
	})
}

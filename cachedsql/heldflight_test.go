package cachedsql_test

import (
	"context"
	"testing"
	"time"
)

// A held session that joins another caller's creation of the same key,
// found in an audit: the creation runs on the pool, the pool's connections
// are held by sessions like this one, and the session waits for the
// creation while it holds the connection the creation waits for. With
// sqlx the session's read would run on its own connection.
func TestHeldSessionDoesNotWaitForPoolCreation(t *testing.T) {
	db, _ := newDB(t)
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	c := heldConn(t, db)
	// The session takes the pool's one connection.
	execOn(t, c, "UPDATE items SET name = 'apple' WHERE id = 2")
	key, err := db.CacheKey(itemOne)
	if err != nil {
		t.Fatal(err)
	}
	// Another caller misses, and creates the key on the pool: it waits
	// for the connection the session holds.
	go func() {
		var name string
		if err := db.GetContext(ctx, &name, itemOne); err != nil {
			t.Log(err)
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		locked, err := db.Region().KeyIsLocked(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other caller's creation never started")
		}
		time.Sleep(time.Millisecond)
	}
	read := make(chan error, 1)
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		var name string
		read <- c.QueryRowContext(rctx, itemOne).Scan(&name)
	}()
	if err := <-read; err != nil {
		t.Fatalf("the held session's read while another caller creates its key on the pool: %v", err)
	}
}

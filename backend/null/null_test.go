package null_test

import (
	"context"
	"testing"
	"time"

	"github.com/dogpile-go/dogpile/backend"
	"github.com/dogpile-go/dogpile/backend/null"
)

func TestNullKeepsNothing(t *testing.T) {
	b, err := backend.Open("null", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Set(ctx, "k", backend.Entry{Value: 1, Meta: backend.Metadata{Created: time.Now(), Version: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("Get after Set = %v, %v; want a miss", ok, err)
	}
	if err := b.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Open("null", backend.Arguments{"x": 1}); err == nil {
		t.Fatal("null accepted an argument it does not take")
	}
	var _ backend.Backend = null.New()
}

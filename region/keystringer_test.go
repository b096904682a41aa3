package region_test

import (
	"context"
	"testing"

	"github.com/dogpile-go/dogpile/region"
)

// apiToken hides its value when printed, as secret types do.
type apiToken string

func (apiToken) String() string { return "[redacted]" }

// level names some of its values and calls every other one "unknown".
type level int

func (l level) String() string {
	if l == 1 {
		return "info"
	}
	return "unknown"
}

// The default key generator must key a scalar argument by its value, not
// by what its String method prints: a method that does not tell values
// apart would give two callers one key, and the second the first's result.
func TestDefaultKeyIgnoresStringMethod(t *testing.T) {
	r, _ := setup(t, region.Config{})
	ctx := context.Background()
	user := region.MustCacheOnArguments(r, func(_ context.Context, tok apiToken) (string, error) {
		return "user of " + string(tok), nil
	}, region.FuncName("userByToken"))
	if _, err := user.Call(ctx, "alice-token"); err != nil {
		t.Fatal(err)
	}
	got, err := user.Call(ctx, "bob-token")
	if err != nil {
		t.Fatal(err)
	}
	if got != "user of bob-token" {
		t.Fatalf("Call(bob-token) = %q: keys %q and %q", got, user.Key("alice-token"), user.Key("bob-token"))
	}

	lv := region.MustCacheOnArguments(r, func(_ context.Context, l level) (int, error) { return int(l), nil }, region.FuncName("lv"))
	if k2, k3 := lv.Key(2), lv.Key(3); k2 == k3 {
		t.Fatalf("level 2 and 3 share the key %q", k2)
	}
	// Predeclared types keep their keys.
	plain := region.MustCacheOnArguments(r, func(_ context.Context, s string) (int, error) { return 0, nil }, region.FuncName("plain"))
	if k := plain.Key("a b"); k != "plain|a b" {
		t.Fatalf("Key(%q) = %q, want %q", "a b", k, "plain|a b")
	}
}

// Command functions shows cached functions, dogpile.cache's
// cache_on_arguments and cache_multi_on_arguments in Go:
// [region.CacheOnArguments] wraps a function of one argument with its
// cache (Call, Get, Set, Refresh, Invalidate, Original; a namespace; a key
// of one's own), and [region.CacheMultiOnArguments] wraps a function of
// many keys, which a call asks only for the keys the cache lacks.
//
//	go run ./examples/functions
//
// The functions read a map that stands for a database, and say when they
// run; the region is on the in-process memory store.
//
// # Output
//
//	CacheOnArguments: userName, key "load_user|1"
//	   Call(1)          loading user 1 -> Ada
//	   Call(1)          -> Ada (cached)
//	   Get(2)           no value (Get never calls the function)
//	   Set(2, "G.")     stored without calling the function
//	   Call(2)          -> G. (cached)
//	   the database renames user 1 Ada Lovelace
//	   Call(1)          -> Ada (cached)
//	   Original(1)      loading user 1 -> Ada Lovelace (the cache is not used)
//	   Call(1)          -> Ada (cached)
//	   Refresh(1)       loading user 1 -> Ada Lovelace
//	   Call(1)          -> Ada Lovelace (cached)
//	   Invalidate(2)
//	   Call(2)          loading user 2 -> Grace
//	a namespace: Namespace("v2"), key "load_user|v2|1"
//	   Call(1)          loading user 1 -> Ada Lovelace
//	a key of one's own: KeyFunc, key "user-name:1"
//	   Call(1)          loading user 1 -> Ada Lovelace
//	CacheMultiOnArguments: userNames
//	   Call(1, 2, 3)    loading users [1 2 3] -> map[1:Ada Lovelace 2:Grace 3:Edsger]
//	   Call(2, 3, 4, 5) loading users [4 5] -> map[2:Grace 3:Edsger 4:Barbara 5:Donald]
//	   Call(5, 9)       loading users [9] -> map[5:Donald] (9 is not found, so not cached)
//	   Call(9)          loading users [9] -> map[]
//	   Invalidate(1, 2)
//	   Call(1, 2, 3)    loading users [1 2] -> map[1:Ada Lovelace 2:Grace 3:Edsger]
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"slices"

	"github.com/dogpile-go/dogpile/backend/memory"
	"github.com/dogpile-go/dogpile/region"
)

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	store, err := memory.New(memory.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	users := region.New("users")
	if err := users.Configure(region.Config{Backend: store}); err != nil {
		return err
	}

	// database stands for a table of users.
	database := map[int]string{1: "Ada", 2: "Grace", 3: "Edsger", 4: "Barbara", 5: "Donald"}
	// loadUser is the function to cache: it says when it runs.
	loadUser := func(_ context.Context, id int) (string, error) {
		fmt.Fprintf(w, "loading user %d ", id)
		return database[id], nil
	}
	// step prints a call, padded so that results line up.
	step := func(call string) { fmt.Fprintf(w, "   %-16s ", call) }
	result := func(v string, err error, note string) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "-> %s%s\n", v, note)
		return nil
	}

	// A closure has no name to put in its keys: FuncName gives it one.
	userName, err := region.CacheOnArguments(users, loadUser, region.FuncName("load_user"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "CacheOnArguments: userName, key %q\n", userName.Key(1))
	// call calls f and says whether the function ran.
	call := func(f *region.Func[int, string], id int) error {
		step(fmt.Sprintf("Call(%d)", id))
		created := users.Stats().Created
		v, err := f.Call(ctx, id)
		note := ""
		if users.Stats().Created == created {
			note = " (cached)"
		}
		return result(v, err, note)
	}
	if err := call(userName, 1); err != nil {
		return err
	}
	if err := call(userName, 1); err != nil {
		return err
	}
	step("Get(2)")
	if _, ok, err := userName.Get(ctx, 2); err != nil || ok {
		return fmt.Errorf("Get(2) = %v, %v; want no value", ok, err)
	}
	fmt.Fprintln(w, "no value (Get never calls the function)")
	step(`Set(2, "G.")`)
	if err := userName.Set(ctx, 2, "G."); err != nil {
		return err
	}
	fmt.Fprintln(w, "stored without calling the function")
	if err := call(userName, 2); err != nil {
		return err
	}

	database[1] = "Ada Lovelace"
	fmt.Fprintln(w, "   the database renames user 1 Ada Lovelace")
	if err := call(userName, 1); err != nil {
		return err
	}
	step("Original(1)")
	v, err := userName.Original(ctx, 1)
	if err := result(v, err, " (the cache is not used)"); err != nil {
		return err
	}
	if err := call(userName, 1); err != nil {
		return err
	}
	step("Refresh(1)")
	v, err = userName.Refresh(ctx, 1)
	if err := result(v, err, ""); err != nil {
		return err
	}
	if err := call(userName, 1); err != nil {
		return err
	}
	if err := userName.Invalidate(ctx, 2); err != nil {
		return err
	}
	fmt.Fprintln(w, "   Invalidate(2)")
	if err := call(userName, 2); err != nil {
		return err
	}

	// A namespace keeps apart the keys of functions whose names and
	// arguments could collide, or, here, of a new version of a function.
	userNameV2, err := region.CacheOnArguments(users, loadUser, region.FuncName("load_user"), region.Namespace("v2"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "a namespace: Namespace(\"v2\"), key %q\n", userNameV2.Key(1))
	if err := call(userNameV2, 1); err != nil {
		return err
	}
	// KeyFunc makes the keys alone: explicit, and stable when code moves.
	userNameByKey, err := region.CacheOnArguments(users, loadUser,
		region.KeyFunc(func(id int) string { return fmt.Sprintf("user-name:%d", id) }))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "a key of one's own: KeyFunc, key %q\n", userNameByKey.Key(1))
	if err := call(userNameByKey, 1); err != nil {
		return err
	}

	// The multi form: the function gets only the ids the cache lacks, in
	// one call, and returns what it found as a map.
	userNames, err := region.CacheMultiOnArguments(users, func(_ context.Context, ids []int) (map[int]string, error) {
		// ids is the region's: read it, do not reorder it.
		fmt.Fprintf(w, "loading users %v ", slices.Sorted(slices.Values(ids)))
		found := map[int]string{}
		for _, id := range ids {
			if name, ok := database[id]; ok {
				found[id] = name
			}
		}
		return found, nil
	}, region.FuncName("load_users"))
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "CacheMultiOnArguments: userNames")
	callMulti := func(note string, ids ...int) error {
		step(callString(ids))
		got, err := userNames.Call(ctx, ids...)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "-> %v%s\n", got, note)
		return nil
	}
	if err := callMulti("", 1, 2, 3); err != nil {
		return err
	}
	if err := callMulti("", 2, 3, 4, 5); err != nil {
		return err
	}
	if err := callMulti(" (9 is not found, so not cached)", 5, 9); err != nil {
		return err
	}
	if err := callMulti("", 9); err != nil {
		return err
	}
	if err := userNames.Invalidate(ctx, 1, 2); err != nil {
		return err
	}
	fmt.Fprintln(w, "   Invalidate(1, 2)")
	return callMulti("", 1, 2, 3)
}

// callString writes a call of ids as Go would: Call(1, 2, 3).
func callString(ids []int) string {
	s := "Call("
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(id)
	}
	return s + ")"
}

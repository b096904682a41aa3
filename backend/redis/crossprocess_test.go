package redis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend/redis"
	"github.com/dogpile-go/dogpile/clock"
	"github.com/dogpile-go/dogpile/internal/testenv"
	"github.com/dogpile-go/dogpile/region"
)

// Worker processes: the test binary run again with these variables set,
// doing one job against Redis and printing a JSON report.
const (
	envWorker      = "DOGPILE_TEST_WORKER"
	envAddrs       = "DOGPILE_TEST_WORKER_ADDRS"
	envCluster     = "DOGPILE_TEST_WORKER_CLUSTER"
	envPrefix      = "DOGPILE_TEST_WORKER_PREFIX"
	envGoroutines  = "DOGPILE_TEST_WORKER_GOROUTINES"
	envLockTimeout = "DOGPILE_TEST_WORKER_LOCK_TIMEOUT"
)

const (
	workerKey     = "hot"
	creatorTakes  = 200 * time.Millisecond
	staleValue    = "old"
	workerTimeout = 60 * time.Second
)

// report is what a stampede worker prints.
type report struct {
	Values map[string]int // value → callers who got it
	Errors []string
}

// target says where the workers' Redis is.
type target struct {
	addrs   []string
	cluster bool
}

func (tg target) options(prefix string, lockTimeout time.Duration) redis.Options {
	return redis.Options{
		Universal:   &goredis.UniversalOptions{Addrs: tg.addrs, IsClusterMode: tg.cluster},
		KeyPrefix:   prefix,
		LockTimeout: lockTimeout,
	}
}

func workerTarget() target {
	return target{addrs: strings.Split(os.Getenv(envAddrs), ","), cluster: os.Getenv(envCluster) == "1"}
}

func runWorker(mode string) int {
	ctx, cancel := context.WithTimeout(context.Background(), workerTimeout)
	defer cancel()
	prefix := os.Getenv(envPrefix)
	lockTimeout, _ := time.ParseDuration(os.Getenv(envLockTimeout))
	store, err := redis.New(workerTarget().options(prefix, lockTimeout))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer store.Close()
	r := region.New("worker")
	r.MustConfigure(region.Config{Backend: store, Expiration: time.Minute})
	rdb := store.Client()
	switch mode {
	case "stampede":
		return stampedeWorker(ctx, r, rdb, prefix)
	case "hold":
		// Take the key's creation lock and never finish: the parent kills
		// this process with SIGKILL mid-creation.
		_, err := region.GetOrCreate(ctx, r, workerKey, func(ctx context.Context) (string, error) {
			rdb.Set(ctx, prefix+"creating", os.Getpid(), 0)
			time.Sleep(time.Hour)
			return "never", nil
		})
		fmt.Fprintln(os.Stderr, "hold worker returned:", err)
		return 2
	}
	fmt.Fprintln(os.Stderr, "unknown worker mode", mode)
	return 2
}

func stampedeWorker(ctx context.Context, r *region.Region, rdb goredis.UniversalClient, prefix string) int {
	goroutines, _ := strconv.Atoi(os.Getenv(envGoroutines))
	rdb.Incr(ctx, prefix+"ready")
	for rdb.Exists(ctx, prefix+"go").Val() == 0 {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "no start signal")
			return 2
		}
		time.Sleep(time.Millisecond)
	}
	create := func(ctx context.Context) (string, error) {
		rdb.Incr(ctx, prefix+"creations")
		time.Sleep(creatorTakes)
		return fmt.Sprintf("new from pid %d", os.Getpid()), nil
	}
	var mu sync.Mutex
	rep := report{Values: map[string]int{}}
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := region.GetOrCreate(ctx, r, workerKey, create)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
				return
			}
			rep.Values[v]++
		}()
	}
	wg.Wait()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 2
	}
	return 0
}

// startWorker runs the test binary as a worker process.
func startWorker(t *testing.T, mode string, tg target, prefix string, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cluster := "0"
	if tg.cluster {
		cluster = "1"
	}
	cmd.Env = append(os.Environ(),
		envWorker+"="+mode, envAddrs+"="+strings.Join(tg.addrs, ","), envCluster+"="+cluster, envPrefix+"="+prefix)
	cmd.Env = append(cmd.Env, extra...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

// seedStale stores the stale value, created an hour ago.
func seedStale(t *testing.T, tg target, prefix string) {
	t.Helper()
	store := newStore(t, tg.options(prefix, 0))
	past := region.New("seed", region.WithClock(clock.NewManual(time.Now().Add(-time.Hour))))
	past.MustConfigure(region.Config{Backend: store})
	if err := region.Set(context.Background(), past, workerKey, staleValue); err != nil {
		t.Fatal(err)
	}
}

// Four OS processes of fifty goroutines each ask for one key whose creator
// takes 200 ms: the creator runs once across all of them; with a stale
// value the callers that do not create get it at once, without one they
// wait and get the new value.
func TestCrossProcessStampede(t *testing.T) {
	const procs, goroutines = 4, 50
	targets := map[string]func(t *testing.T) target{
		"single":  func(t *testing.T) target { return target{addrs: []string{testenv.SharedRedis(t).Addr()}} },
		"cluster": func(t *testing.T) target { return target{addrs: testenv.SharedRedisCluster(t).Addrs(), cluster: true} },
	}
	for name, getTarget := range targets {
		for _, stale := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stale=%v", name, stale), func(t *testing.T) {
				tg := getTarget(t)
				prefix := uniquePrefix(t)
				if stale {
					seedStale(t, tg, prefix)
				}
				ctl := newStore(t, tg.options(prefix, 0)).Client()
				ctx := context.Background()
				var cmds []*exec.Cmd
				var outs []*bytes.Buffer
				for range procs {
					cmd, out := startWorker(t, "stampede", tg, prefix, envGoroutines+"="+strconv.Itoa(goroutines))
					cmds, outs = append(cmds, cmd), append(outs, out)
				}
				deadline := time.Now().Add(workerTimeout)
				for ctl.Get(ctx, prefix+"ready").Val() != strconv.Itoa(procs) {
					if time.Now().After(deadline) {
						t.Fatal("workers did not get ready")
					}
					time.Sleep(5 * time.Millisecond)
				}
				ctl.Set(ctx, prefix+"go", 1, 0)
				total := report{Values: map[string]int{}}
				for i, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						t.Fatalf("worker %d: %v", i, err)
					}
					var rep report
					if err := json.Unmarshal(outs[i].Bytes(), &rep); err != nil {
						t.Fatalf("worker %d report %q: %v", i, outs[i].String(), err)
					}
					for v, n := range rep.Values {
						total.Values[v] += n
					}
					total.Errors = append(total.Errors, rep.Errors...)
				}
				creations := ctl.Get(ctx, prefix+"creations").Val()
				t.Logf("%d processes × %d goroutines: creations %s, values %v", procs, goroutines, creations, total.Values)
				if creations != "1" {
					t.Fatalf("creator ran %s times across %d processes, want 1", creations, procs)
				}
				if len(total.Errors) > 0 {
					t.Fatalf("errors: %v", total.Errors)
				}
				var newValues []string
				for v := range total.Values {
					if v != staleValue {
						newValues = append(newValues, v)
					}
				}
				if len(newValues) != 1 {
					t.Fatalf("callers got new values %v, want exactly one", newValues)
				}
				if !stale && total.Values[newValues[0]] != procs*goroutines {
					t.Fatalf("without a value every caller must wait for the one creation: %v", total.Values)
				}
				// With a stale value, every caller but the creating one is
				// answered with it at once; only a caller that arrives after
				// the 200 ms creation could see the new value.
				if stale && total.Values[staleValue] < procs*goroutines*3/4 {
					t.Fatalf("with a stale value, %d of %d callers got it; want all but the creator", total.Values[staleValue], procs*goroutines)
				}
			})
		}
	}
}

// The lock holder is killed with SIGKILL mid-creation: another process
// takes over once the lock times out (renewals stop with the process).
func TestCrossProcessHolderKilled(t *testing.T) {
	const lockTimeout = time.Second
	tg := target{addrs: []string{testenv.SharedRedis(t).Addr()}}
	prefix := uniquePrefix(t)
	store := newStore(t, tg.options(prefix, lockTimeout))
	ctx := context.Background()
	cmd, _ := startWorker(t, "hold", tg, prefix, envLockTimeout+"="+lockTimeout.String())
	deadline := time.Now().Add(workerTimeout)
	for store.Client().Exists(ctx, prefix+"creating").Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("worker never started creating")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Let a renewal or two happen, so the lock is known to outlive the
	// timeout while its holder lives.
	time.Sleep(2 * lockTimeout)
	if locked, _ := store.Locked(ctx, workerKey); !locked {
		t.Fatal("the live holder's lock expired: renewal does not work")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()

	r := region.New("taker")
	r.MustConfigure(region.Config{Backend: store})
	var calls int
	v, err := region.GetOrCreate(ctx, r, workerKey, func(context.Context) (string, error) {
		calls++
		return "taken over", nil
	})
	took := time.Since(killed)
	if err != nil || v != "taken over" || calls != 1 {
		t.Fatalf("after the holder died: %q, %v, %d calls", v, err, calls)
	}
	t.Logf("took over %v after the kill (lock timeout %v)", took, lockTimeout)
	if took > lockTimeout+2*time.Second {
		t.Fatalf("took over after %v, want within the lock timeout %v", took, lockTimeout)
	}
	if took < lockTimeout/3 {
		t.Fatalf("took over after %v: the dead holder's lock did not hold", took)
	}
}

package file_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/region"
)

// Environment of the helper processes.
const (
	envPath       = "DOGPILE_FILE_TEST_PATH"       // the data file
	envKey        = "DOGPILE_FILE_TEST_KEY"        // the key to lock or create
	envRuns       = "DOGPILE_FILE_TEST_RUNS"       // file the creator appends a line to per run
	envGoroutines = "DOGPILE_FILE_TEST_GOROUTINES" // callers per process
	envRounds     = "DOGPILE_FILE_TEST_ROUNDS"     // rounds per tag worker
)

// creationTime is how long the helpers' creator takes.
const creationTime = 200 * time.Millisecond

func helperFail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "helper %d: "+format+"\n", append([]any{os.Getpid()}, args...)...)
	os.Exit(1)
}

// helperHoldLock takes the creation lock of $KEY in the store at $PATH,
// says "locked", and holds it until it is killed.
func helperHoldLock() {
	s, err := file.New(file.Options{Filename: os.Getenv(envPath)})
	if err != nil {
		helperFail("%v", err)
	}
	ok, err := s.Mutex(os.Getenv(envKey)).TryLock(context.Background())
	if err != nil || !ok {
		helperFail("TryLock = %v, %v", ok, err)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // until killed
	helperFail("stdin closed while holding the lock")
}

// helperRegion configures a region on the store at $PATH (expiration one
// hour), says "ready", waits for a line on stdin, then has $GOROUTINES
// goroutines call GetOrCreate on $KEY at once, and prints what each got,
// one "result VALUE" line each. The creator appends its process id to
// $RUNS, takes creationTime, and makes "new-PID".
func helperRegion() {
	s, err := file.New(file.Options{Filename: os.Getenv(envPath)})
	if err != nil {
		helperFail("%v", err)
	}
	defer s.Close()
	r := region.New("cross-process")
	if err := r.Configure(region.Config{Backend: s, Expiration: time.Hour}); err != nil {
		helperFail("%v", err)
	}
	n, err := strconv.Atoi(os.Getenv(envGoroutines))
	if err != nil {
		helperFail("%s: %v", envGoroutines, err)
	}
	key, runs := os.Getenv(envKey), os.Getenv(envRuns)
	pid := os.Getpid()
	create := func(context.Context) (string, error) {
		f, err := os.OpenFile(runs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return "", err
		}
		_, err = fmt.Fprintf(f, "%d\n", pid)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		time.Sleep(creationTime) // the creation's work
		return fmt.Sprint("new-", pid), nil
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		helperFail("waiting for go: %v", err)
	}
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := region.GetOrCreate(context.Background(), r, key, create)
			if err != nil {
				v = "error:" + err.Error()
			}
			results[i] = v
		}()
	}
	wg.Wait()
	for _, v := range results {
		fmt.Println("result", v)
	}
	if st := r.Stats(); st.BackendErrors > 0 {
		fmt.Println("backend-errors", st.BackendErrors)
	}
	fmt.Println("done")
}

// helperTags opens the store at $PATH, says "ready", waits for a line on
// stdin, then runs $GOROUTINES tag workers of $ROUNDS rounds each (see
// tagWorker), the first of which loses versions now and then. It prints
// one "max TAG-INDEX VERSION" line per tag, the highest version its workers
// read after a bump, one line per worker that failed, and "done".
func helperTags() {
	s, err := file.New(file.Options{Filename: os.Getenv(envPath), NoSync: true})
	if err != nil {
		helperFail("%v", err)
	}
	defer s.Close()
	n, err := strconv.Atoi(os.Getenv(envGoroutines))
	if err != nil {
		helperFail("%s: %v", envGoroutines, err)
	}
	rounds, err := strconv.Atoi(os.Getenv(envRounds))
	if err != nil {
		helperFail("%s: %v", envRounds, err)
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		helperFail("waiting for go: %v", err)
	}
	var (
		mu      sync.Mutex
		maxSeen = make([]uint64, len(workerTags))
		wg      sync.WaitGroup
	)
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = tagWorker(s, fmt.Sprintf("pid%d-g%d", os.Getpid(), g), rounds, g == 0, func(i int, v uint64) {
				mu.Lock()
				maxSeen[i] = max(maxSeen[i], v)
				mu.Unlock()
			})
		}()
	}
	wg.Wait()
	for i, v := range maxSeen {
		fmt.Println("max", i, v)
	}
	for _, err := range errs {
		if err != nil {
			fmt.Println("error", err)
		}
	}
	fmt.Println("done")
}

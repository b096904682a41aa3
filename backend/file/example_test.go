package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dogpile-go/dogpile/backend/file"
	"github.com/dogpile-go/dogpile/region"
)

// A region over a file that every process of the machine shares: one of
// them creates a missing value, and the others read it from the file.
func Example() {
	dir, _ := os.MkdirTemp("", "dogpile-example")
	defer os.RemoveAll(dir)

	s, err := file.New(file.Options{Filename: filepath.Join(dir, "cache.db")})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	reports := region.New("reports").MustConfigure(region.Config{Backend: s, Expiration: time.Hour})

	ctx := context.Background()
	for range 2 {
		v, err := region.GetOrCreate(ctx, reports, "report:2024", func(ctx context.Context) (string, error) {
			fmt.Println("creating")
			return "42 rows", nil
		})
		fmt.Println(v, err)
	}
	// Output:
	// creating
	// 42 rows <nil>
	// 42 rows <nil>
}

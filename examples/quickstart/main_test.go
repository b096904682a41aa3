package main

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/exampletest"
	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// runLines runs the example with the environment given and returns what
// it printed, line by line.
func runLines(t *testing.T, databaseURL, redisURL string) []string {
	t.Helper()
	t.Setenv("DATABASE_URL", databaseURL)
	t.Setenv("REDIS_URL", redisURL)
	return exampletest.Run(t, run)
}

// TestDocumentedOutput runs the example on the embedded default (SQLite,
// the memory store) and checks that it prints what its doc comment says.
func TestDocumentedOutput(t *testing.T) {
	exampletest.Compare(t, runLines(t, "", ""), exampletest.DocumentedOutput(t), 0)
}

// TestPostgres runs the example on PostgreSQL: the same output but for
// the line that names the database.
func TestPostgres(t *testing.T) {
	got, want := runLines(t, testenv.PostgresDB(t), ""), exampletest.DocumentedOutput(t)
	if got[0] != "database: PostgreSQL at DATABASE_URL; cache: process memory" {
		t.Errorf("first line %q does not say PostgreSQL and memory", got[0])
	}
	exampletest.Compare(t, got, want, 1)
}

// TestPostgresRedis runs the example on PostgreSQL with the cache in
// Redis.
func TestPostgresRedis(t *testing.T) {
	got, want := runLines(t, testenv.PostgresDB(t), testenv.SharedRedis(t).URL()), exampletest.DocumentedOutput(t)
	if got[0] != "database: PostgreSQL at DATABASE_URL; cache: Redis at REDIS_URL" {
		t.Errorf("first line %q does not say PostgreSQL and Redis", got[0])
	}
	exampletest.Compare(t, got, want, 1)
}

package cachedsql_test

import (
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dogpile-go/dogpile/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

package rowset_test

import (
	"database/sql"

	"github.com/jmoiron/sqlx"
)

func sqlxDB(db *sql.DB, driverName string) *sqlx.DB { return sqlx.NewDb(db, driverName) }

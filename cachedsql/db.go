package cachedsql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// DB is a drop-in replacement for *sqlx.DB whose reads are cached and whose
// writes invalidate what they touched. It embeds a *sqlx.DB, so every
// method of sqlx and database/sql is there; those that begin transactions
// return a [Tx], which adds commit hooks. It is safe for concurrent use by
// multiple goroutines.
//
// The embedded *sqlx.DB runs on the caching driver, which sits in front of
// the database handle the DB was opened on: every statement, whichever path
// it takes (DB, Conn, Tx, prepared statements, sqlx helpers), passes
// through it, so reads can be served from the cache and no write goes
// unseen.
type DB struct {
	*sqlx.DB
	e      *engine
	unsafe bool // struct scans ignore columns the struct lacks (Unsafe)
}

// Open opens a database as sql.Open does (no connection is made yet) and
// puts the cache in front of it.
func Open(driverName, dataSourceName string, opts ...Option) (*DB, error) {
	inner, err := sql.Open(driverName, dataSourceName)
	if err != nil {
		return nil, err
	}
	db, err := newDB(inner, driverName, true, opts)
	if err != nil {
		inner.Close()
		return nil, err
	}
	return db, nil
}

// MustOpen is Open that panics on error, as sqlx.MustOpen.
func MustOpen(driverName, dataSourceName string, opts ...Option) *DB {
	db, err := Open(driverName, dataSourceName, opts...)
	if err != nil {
		panic(err)
	}
	return db
}

// Connect opens a database and checks it with a ping, as sqlx.Connect.
func Connect(driverName, dataSourceName string, opts ...Option) (*DB, error) {
	return ConnectContext(context.Background(), driverName, dataSourceName, opts...)
}

// ConnectContext is Connect with a context for the ping.
func ConnectContext(ctx context.Context, driverName, dataSourceName string, opts ...Option) (*DB, error) {
	db, err := Open(driverName, dataSourceName, opts...)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// MustConnect is Connect that panics on error, as sqlx.MustConnect.
func MustConnect(driverName, dataSourceName string, opts ...Option) *DB {
	db, err := Connect(driverName, dataSourceName, opts...)
	if err != nil {
		panic(err)
	}
	return db
}

// NewDb puts the cache in front of an open database handle, as sqlx.NewDb
// wraps one; driverName decides the bind type, as in sqlx. Closing the DB
// does not close db. It returns an error only for an option that cannot
// work (a region not configured for cachedsql, see [WithRegion]).
func NewDb(db *sql.DB, driverName string, opts ...Option) (*DB, error) {
	return newDB(db, driverName, false, opts)
}

// Wrap puts the cache in front of an existing *sqlx.DB, keeping its driver
// name, field mapper and unsafe setting. Closing the DB does not close x.
//
//	db, err := cachedsql.Wrap(x, cachedsql.WithBackend(redisStore))
func Wrap(x *sqlx.DB, opts ...Option) (*DB, error) {
	db, err := newDB(x.DB, x.DriverName(), false, opts)
	if err != nil {
		return nil, err
	}
	db.DB.Mapper = x.Mapper
	return db, nil
}

func newDB(inner *sql.DB, driverName string, ownInner bool, opts []Option) (*DB, error) {
	s := defaults()
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	e, err := newEngine(inner, s)
	if err != nil {
		return nil, err
	}
	if ownInner {
		e.closers = append(e.closers, func(context.Context) error { return inner.Close() })
	}
	outer := sql.OpenDB(connector{e})
	return &DB{DB: sqlx.NewDb(outer, driverName), e: e}, nil
}

// Close closes the DB: its connections, and what it made for itself (the
// database handle it opened, its region's store and pool, its tag
// protocol), after one last try to deliver invalidations still owed.
func (db *DB) Close() error {
	err := db.DB.Close()
	if cerr := db.e.close(context.Background()); err == nil {
		err = cerr
	}
	return err
}

// Unsafe returns a DB whose struct scans ignore columns the struct lacks,
// as sqlx's Unsafe; it shares the cache and connections of db.
func (db *DB) Unsafe() *DB { return &DB{DB: db.DB.Unsafe(), e: db.e, unsafe: true} }

// Beginx begins a transaction. Reads inside it bypass the cache; its
// writes invalidate their tables when it commits.
func (db *DB) Beginx() (*Tx, error) { return db.BeginTxx(context.Background(), nil) }

// BeginTxx begins a transaction with options.
func (db *DB) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTxx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return newTx(tx, db.e), nil
}

// MustBegin begins a transaction and panics on error, as sqlx's.
func (db *DB) MustBegin() *Tx { return db.MustBeginTx(context.Background(), nil) }

// MustBeginTx begins a transaction with options and panics on error.
func (db *DB) MustBeginTx(ctx context.Context, opts *sql.TxOptions) *Tx {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		panic(err)
	}
	return tx
}

// Region returns the region results are cached in.
func (db *DB) Region() *region.Region { return db.e.region }

// Tags returns the tag protocol the DB invalidates through.
func (db *DB) Tags() *invalidation.Tags { return db.e.tags }

// Inner returns the database handle the cache sits in front of.
func (db *DB) Inner() *sql.DB { return db.e.inner }

// InvalidateTables invalidates every cached result that read any of
// tables ("users", "public.users", `"Mixed"."Case"`), in every process
// sharing the cache.
func (db *DB) InvalidateTables(ctx context.Context, tables ...string) error {
	tags := make([]string, 0, len(tables))
	for _, name := range tables {
		t, err := parseTable(name)
		if err != nil {
			return err
		}
		tags = append(tags, db.e.tableTag(t))
	}
	return db.e.tags.Invalidate(ctx, tags...)
}

// InvalidateTags invalidates every cached result read with any of tags
// (see [ContextWithTags]).
func (db *DB) InvalidateTags(ctx context.Context, tags ...string) error {
	named := make([]string, len(tags))
	for i, t := range tags {
		named[i] = db.e.userTag(t)
	}
	return db.e.tags.Invalidate(ctx, named...)
}

// InvalidateAll invalidates every result this DB (and every DB of its
// namespace) has cached.
func (db *DB) InvalidateAll(ctx context.Context) error {
	return db.e.tags.Invalidate(ctx, db.e.allTag)
}

// SetMaxOpenConns bounds the open connections to the database, as
// database/sql's (it applies to the caching connections and to the
// database handle the DB opened).
func (db *DB) SetMaxOpenConns(n int) {
	db.DB.SetMaxOpenConns(n)
	db.e.inner.SetMaxOpenConns(n)
}

func (db *DB) String() string {
	return fmt.Sprintf("cachedsql.DB(%s, namespace %q)", db.DriverName(), db.e.s.namespace)
}

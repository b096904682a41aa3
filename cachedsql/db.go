package cachedsql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/invalidation"
	"github.com/dogpile-go/dogpile/region"
)

// DB is a drop-in replacement for *sqlx.DB whose reads are cached and whose
// writes invalidate what they touched. It has sqlx.DB's shape — an embedded
// *sql.DB (so db.DB can be handed to other libraries, and every
// database/sql method is there), an exported Mapper — and every one of its
// methods; those that begin transactions return a [Tx], which adds commit
// hooks. It is safe for concurrent use by multiple goroutines.
//
// The embedded *sql.DB runs on the caching driver, which sits in front of
// the database handle the DB was opened on: every statement, whichever path
// it takes (DB, Conn, Tx, prepared statements, sqlx helpers, a library the
// *sql.DB is handed to), passes through it, so reads can be served from the
// cache and no write goes unseen. One difference follows: *sql.Conn's Raw
// hands over the caching driver's connection, not the database driver's;
// for driver-specific features (pgx's CopyFrom, say) use [DB.Inner], whose
// writes reach the cache only through the change listener.
type DB struct {
	*sql.DB
	// Mapper maps struct fields to columns, as sqlx.DB's.
	Mapper *reflectx.Mapper

	driverName string
	unsafe     bool // struct scans ignore columns the struct lacks (Unsafe)
	e          *engine
	base       *sqlx.DB // sqlx's view of the DB, made once, with the mapper it started with
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
// does not close db. Options that cannot work (a region not configured for
// cachedsql, see [WithRegion]) make every use of the DB fail with an error
// that says so, from its first Ping or query; [Wrap] returns it instead.
func NewDb(db *sql.DB, driverName string, opts ...Option) *DB {
	d, err := newDB(db, driverName, false, opts)
	if err != nil {
		return &DB{DB: sql.OpenDB(failing{err}), Mapper: defaultMapper(), driverName: driverName}
	}
	return d
}

// Wrap puts the cache in front of an existing *sqlx.DB, keeping its driver
// name and field mapper. Closing the DB does not close x.
//
//	db, err := cachedsql.Wrap(x, cachedsql.WithBackend(redisStore))
func Wrap(x *sqlx.DB, opts ...Option) (*DB, error) {
	db, err := newDB(x.DB, x.DriverName(), false, opts)
	if err != nil {
		return nil, err
	}
	db.Mapper = x.Mapper
	return db, nil
}

func newDB(inner *sql.DB, driverName string, ownInner bool, opts []Option) (*DB, error) {
	s := defaults()
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	e, err := newEngine(inner, driverName, s)
	if err != nil {
		return nil, err
	}
	if ownInner {
		e.closers = append(e.closers, func(context.Context) error { return inner.Close() })
	}
	outer := sql.OpenDB(connector{e})
	m := defaultMapper()
	base := sqlx.NewDb(outer, driverName)
	base.Mapper = m
	return &DB{DB: outer, Mapper: m, driverName: driverName, e: e, base: base}, nil
}

// x is sqlx's view of db, for the methods sqlx implements: the same
// *sql.DB, driver name, mapper and unsafe setting. The view made with db
// (base, unsafe for an Unsafe DB) serves unless the caller changed the
// exported fields since.
func (db *DB) x() *sqlx.DB {
	if db.base != nil && db.base.Mapper == db.Mapper && db.base.DB == db.DB {
		return db.base
	}
	x := sqlx.NewDb(db.DB, db.driverName)
	x.Mapper = db.Mapper
	if db.unsafe {
		return x.Unsafe()
	}
	return x
}

// closeTimeout bounds how long Close tries to deliver invalidations still
// owed to a store that is away.
const closeTimeout = 5 * time.Second

// Close closes the DB: its connections, and what it made for itself (the
// database handle it opened, its region's store and pool, its tag
// protocol), after trying, for at most five seconds, to deliver
// invalidations still owed (a store that is away then keeps its pending
// marks until their lease lapses).
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.e != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if cerr := db.e.close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// DriverName returns the driver name the DB was opened with.
func (db *DB) DriverName() string { return db.driverName }

// MapperFunc sets a new mapper for the DB using the name mapper f, as
// sqlx's.
func (db *DB) MapperFunc(f func(string) string) { db.Mapper = reflectx.NewMapperFunc("db", f) }

// Rebind turns a QUESTION query into the DB's bind type.
func (db *DB) Rebind(query string) string { return sqlx.Rebind(sqlx.BindType(db.driverName), query) }

// BindNamed binds a named query to the DB's bind type.
func (db *DB) BindNamed(query string, arg any) (string, []any, error) {
	return db.x().BindNamed(query, arg)
}

// Unsafe returns a DB whose struct scans ignore columns the struct lacks,
// as sqlx's Unsafe; it shares the cache and connections of db.
func (db *DB) Unsafe() *DB {
	u := *db
	u.unsafe = true
	if db.base != nil {
		u.base = db.base.Unsafe() // made once, not on every call through u
	}
	return &u
}

// Beginx begins a transaction. Reads inside it bypass the cache; its
// writes invalidate their tables when it commits.
func (db *DB) Beginx() (*Tx, error) { return db.BeginTxx(context.Background(), nil) }

// BeginTxx begins a transaction with options.
func (db *DB) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.x().BeginTxx(ctx, opts)
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

// Connx returns a connection of the DB's pool, held until closed, as
// sqlx's; its transactions are [Tx]s.
func (db *DB) Connx(ctx context.Context) (*Conn, error) {
	c, err := db.x().Connx(ctx)
	if err != nil {
		return nil, err
	}
	return newConn(c, db.e), nil
}

// Queryx runs a query and returns *sqlx.Rows.
func (db *DB) Queryx(query string, args ...any) (*Rows, error) { return db.x().Queryx(query, args...) }

// QueryxContext runs a query with a context and returns *sqlx.Rows.
func (db *DB) QueryxContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	return db.x().QueryxContext(ctx, query, args...)
}

// QueryRowx runs a query that returns at most one row.
func (db *DB) QueryRowx(query string, args ...any) *Row { return db.x().QueryRowx(query, args...) }

// QueryRowxContext is QueryRowx with a context.
func (db *DB) QueryRowxContext(ctx context.Context, query string, args ...any) *Row {
	return db.x().QueryRowxContext(ctx, query, args...)
}

// MustExec runs a statement and panics on error.
func (db *DB) MustExec(query string, args ...any) sql.Result { return db.x().MustExec(query, args...) }

// MustExecContext is MustExec with a context.
func (db *DB) MustExecContext(ctx context.Context, query string, args ...any) sql.Result {
	return db.x().MustExecContext(ctx, query, args...)
}

// NamedExec runs a named statement.
func (db *DB) NamedExec(query string, arg any) (sql.Result, error) {
	return db.x().NamedExec(query, arg)
}

// NamedExecContext is NamedExec with a context.
func (db *DB) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	return db.x().NamedExecContext(ctx, query, arg)
}

// NamedQuery runs a named query.
func (db *DB) NamedQuery(query string, arg any) (*Rows, error) { return db.x().NamedQuery(query, arg) }

// NamedQueryContext is NamedQuery with a context.
func (db *DB) NamedQueryContext(ctx context.Context, query string, arg any) (*Rows, error) {
	return db.x().NamedQueryContext(ctx, query, arg)
}

// Preparex prepares a statement; its reads are cached and its writes
// invalidate.
func (db *DB) Preparex(query string) (*Stmt, error) { return db.x().Preparex(query) }

// PreparexContext is Preparex with a context.
func (db *DB) PreparexContext(ctx context.Context, query string) (*Stmt, error) {
	return db.x().PreparexContext(ctx, query)
}

// PrepareNamed prepares a named statement.
func (db *DB) PrepareNamed(query string) (*NamedStmt, error) { return db.x().PrepareNamed(query) }

// PrepareNamedContext is PrepareNamed with a context.
func (db *DB) PrepareNamedContext(ctx context.Context, query string) (*NamedStmt, error) {
	return db.x().PrepareNamedContext(ctx, query)
}

// Region returns the region results are cached in.
func (db *DB) Region() *region.Region { return db.e.region }

// Tags returns the tag protocol the DB invalidates through.
func (db *DB) Tags() *invalidation.Tags { return db.e.tags }

// Inner returns the database handle the cache sits in front of. Statements
// run on it bypass the cache and its invalidation (a watched table's
// writes still reach the cache through the change listener).
func (db *DB) Inner() *sql.DB { return db.e.inner }

// InvalidateTables invalidates every cached result that read any of
// tables ("users", "public.users", `"Mixed"."Case"`), in every process
// sharing the cache; for a view ([WithViews]), the results that read the
// tables behind it too, as a write through the view does, and the results
// that read the tables a write reaches ([WithCascades]).
func (db *DB) InvalidateTables(ctx context.Context, tables ...string) error {
	parsed := make([]sqlanalysis.Table, 0, len(tables))
	for _, name := range tables {
		t, err := parseTable(name)
		if err != nil {
			return err
		}
		parsed = append(parsed, t)
	}
	return db.e.tags.Invalidate(ctx, db.e.writeTags(parsed)...)
}

// CacheKey returns the key under which the DB caches the result of query
// with args (after the region's key mangling, the backend sees another),
// for [region.Region.KeyIsLocked], Delete and the like; an error when the
// query is not cacheable or an argument has no stable key. It is the key
// of a read whose context names no tags; [DB.CacheKeyContext] gives that
// of a read made with a given context. Keys hold the settings of the DB's
// sessions that shape results (PostgreSQL's TimeZone, DateStyle, …): the
// DB's first key, this one or a read's, reads them from the database.
func (db *DB) CacheKey(query string, args ...any) (string, error) {
	return db.CacheKeyContext(context.Background(), query, args...)
}

// CacheKeyContext is [DB.CacheKey] for a read made with ctx: the tags ctx
// carries ([ContextWithTags]) are part of a key, so the same query read
// with other tags is cached under another.
func (db *DB) CacheKeyContext(ctx context.Context, query string, args ...any) (string, error) {
	an := db.e.analyze(query)
	if !an.a.Cacheable {
		return "", fmt.Errorf("%w: not a cacheable read (%s)", ErrNotCacheable, an.a.Reason)
	}
	key, _, err := db.e.key(ctx, an, args, callFrom(ctx), nil)
	return key, err
}

// Tag returns the name under which the DB keeps the caller's tag name:
// give it to [region.WithTags] or [region.TagsFor] so that cached functions
// and cached queries share the tag, and [DB.InvalidateTags](name) (or the
// region's InvalidateTags of the returned name) invalidates both.
func (db *DB) Tag(name string) string { return db.e.userTag(name) }

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
	if db.e != nil {
		db.e.inner.SetMaxOpenConns(n)
	}
}

func (db *DB) String() string {
	return fmt.Sprintf("cachedsql.DB(%s, namespace %q)", db.driverName, db.e.s.namespace)
}

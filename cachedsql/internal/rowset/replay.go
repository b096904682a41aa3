package rowset

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"
)

// Source is what a replay reads: a [*Set], any number of times and by any
// number of goroutines at once, or an [*Overflow], once.
type Source interface {
	// claim readies the source for one replay, or says why it cannot be.
	claim() error
	// release gives back what a claimed source holds, when its replay
	// does not happen after all.
	release()
	// open returns the driver rows of a claimed source's replay.
	open(caller context.Context) driver.Rows
}

var (
	_ Source = (*Set)(nil)
	_ Source = (*Overflow)(nil)
)

var errEmptySet = errors.New("rowset: the Set has no result sets; make Sets with Materialize or Decode")

func (s *Set) claim() error {
	if len(s.results) == 0 {
		return errEmptySet
	}
	return nil
}

func (s *Set) release() {}

func (s *Set) open(caller context.Context) driver.Rows { return newRows(s, caller) }

func (o *Overflow) claim() error {
	if o.used.Swap(true) {
		return ErrOverflowReplayed
	}
	return nil
}

func (o *Overflow) release() { o.rest.Close() }

func (o *Overflow) open(caller context.Context) driver.Rows {
	r := newRows(o.read, caller)
	r.live = &liveRows{rows: o.rest, pending: o.pending}
	return r
}

// replayQuery is the query text replays pass through database/sql, for
// whoever looks; the replay driver ignores it.
const replayQuery = "-- rowset replay"

// maxIdleReplayConns is how many replay connections database/sql keeps
// for reuse. A connection is busy while a caller holds its replayed rows
// open; past this many at once, the extra ones are made and dropped, at
// the cost of a few small allocations.
const maxIdleReplayConns = 64

// replayDB is the database/sql pool over the replay driver, shared by all
// replays.
var replayDB = sync.OnceValue(func() *sql.DB {
	db := sql.OpenDB(connector{})
	db.SetMaxIdleConns(maxIdleReplayConns)
	return db
})

// defaultDBs are the sqlx views of replayDB with sqlx's default mapper,
// safe and unsafe, made once.
var defaultDBs = sync.OnceValue(func() [2]*sqlx.DB {
	db := sqlx.NewDb(replayDB(), "rowset")
	return [2]*sqlx.DB{db, db.Unsafe()}
})

// sqlxDB returns an sqlx view of replayDB that scans as a *sqlx.DB with
// mapper m (nil: sqlx's default) and the given unsafe setting does.
func sqlxDB(m *reflectx.Mapper, unsafe bool) *sqlx.DB {
	if m == nil {
		dbs := defaultDBs()
		if unsafe {
			return dbs[1]
		}
		return dbs[0]
	}
	db := &sqlx.DB{DB: replayDB(), Mapper: m}
	if unsafe {
		return db.Unsafe()
	}
	return db
}

// mapperOrDefault returns m, or sqlx's default mapper when m is nil: the
// mapper an sqlxDB view would scan with, without making the view (the
// direct scan needs only the mapper, and a view is an allocation).
func mapperOrDefault(m *reflectx.Mapper) *reflectx.Mapper {
	if m == nil {
		return defaultDBs()[0].Mapper
	}
	return m
}

// begin claims src for a replay and returns the context to run it with.
// The replay takes src whatever happens: an Overflow whose replay cannot
// start is closed.
func begin(ctx context.Context, src Source) context.Context {
	if err := src.claim(); err != nil {
		return &replayContext{caller: ctx, err: err}
	}
	if ctx.Err() != nil {
		// database/sql answers a done context with its error, as it
		// would on the database.
		src.release()
		return ctx
	}
	return &replayContext{caller: ctx, src: src}
}

// Query replays src as database/sql's DB.QueryContext would have answered
// the query that produced it: the same columns, column types and driver
// values, every result set, and the same errors on scanning. The caller
// must close the rows, as with any *sql.Rows.
//
// Cancelling ctx ends the iteration as it would on the database: Next
// returns false and Err returns ctx's error. A ctx already done gives its
// error.
func Query(ctx context.Context, src Source) (*sql.Rows, error) {
	return replayDB().QueryContext(begin(ctx, src), replayQuery)
}

// QueryRow replays src as DB.QueryRowContext would have answered: Scan
// reads the first row, or returns sql.ErrNoRows for an empty result.
func QueryRow(ctx context.Context, src Source) *sql.Row {
	return replayDB().QueryRowContext(begin(ctx, src), replayQuery)
}

// Queryx replays src as sqlx's DB.QueryxContext would have answered, on a
// *sqlx.DB whose Mapper is mapper (nil: sqlx's default, as sqlx.NewDb
// sets) and that is unsafe (DB.Unsafe) if unsafe is true.
func Queryx(ctx context.Context, src Source, mapper *reflectx.Mapper, unsafe bool) (*sqlx.Rows, error) {
	return sqlxDB(mapper, unsafe).QueryxContext(begin(ctx, src), replayQuery)
}

// QueryRowx replays src as sqlx's DB.QueryRowxContext would have answered;
// mapper and unsafe are as for [Queryx].
func QueryRowx(ctx context.Context, src Source, mapper *reflectx.Mapper, unsafe bool) *sqlx.Row {
	return sqlxDB(mapper, unsafe).QueryRowxContext(begin(ctx, src), replayQuery)
}

// Get scans the first row of src into dest as sqlx's DB.GetContext would
// have, by running sqlx's own GetContext over the replay: sql.ErrNoRows for
// an empty result, the same errors for missing columns or destinations.
// mapper and unsafe are as for [Queryx].
func Get(ctx context.Context, src Source, dest any, mapper *reflectx.Mapper, unsafe bool) error {
	if done, err := getDirect(ctx, src, dest, mapperOrDefault(mapper), unsafe); done {
		return err
	}
	return sqlxDB(mapper, unsafe).GetContext(begin(ctx, src), dest, replayQuery)
}

// Select scans every row of src into dest, a pointer to a slice, as sqlx's
// DB.SelectContext would have, by running sqlx's own SelectContext over
// the replay. mapper and unsafe are as for [Queryx].
func Select(ctx context.Context, src Source, dest any, mapper *reflectx.Mapper, unsafe bool) error {
	if done, err := selectDirect(ctx, src, dest, mapperOrDefault(mapper), unsafe); done {
		return err
	}
	return sqlxDB(mapper, unsafe).SelectContext(begin(ctx, src), dest, replayQuery)
}

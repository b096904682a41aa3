package cachedsql

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"
)

// Conn is a drop-in replacement for *sqlx.Conn: one connection of a DB's
// pool, held until closed, with sqlx.Conn's shape and methods. Its
// transactions are [Tx]s. Cacheable reads on it are served from the cache
// until the connection runs a statement that may change its session (SET,
// a temporary table, …); from then on they run on it.
type Conn struct {
	*sql.Conn
	// Mapper maps struct fields to columns, as sqlx.Conn's.
	Mapper *reflectx.Mapper

	x *sqlx.Conn
	e *engine
}

func newConn(c *sqlx.Conn, e *engine) *Conn { return &Conn{Conn: c.Conn, Mapper: c.Mapper, x: c, e: e} }

func (c *Conn) sx() *sqlx.Conn {
	if c.x.Mapper == c.Mapper {
		return c.x
	}
	x := *c.x
	x.Mapper = c.Mapper
	return &x
}

// BeginTxx begins a transaction on the connection.
func (c *Conn) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := c.sx().BeginTxx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return newTx(tx, c.e), nil
}

// GetContext scans the single row of a query into dest.
func (c *Conn) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	return c.sx().GetContext(ctx, dest, query, args...)
}

// SelectContext scans every row of a query into dest, a slice.
func (c *Conn) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	return c.sx().SelectContext(ctx, dest, query, args...)
}

// QueryxContext runs a query and returns *sqlx.Rows.
func (c *Conn) QueryxContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	return c.sx().QueryxContext(ctx, query, args...)
}

// QueryRowxContext runs a query that returns at most one row.
func (c *Conn) QueryRowxContext(ctx context.Context, query string, args ...any) *Row {
	return c.sx().QueryRowxContext(ctx, query, args...)
}

// PreparexContext prepares a statement on the connection.
func (c *Conn) PreparexContext(ctx context.Context, query string) (*Stmt, error) {
	return c.sx().PreparexContext(ctx, query)
}

// Rebind turns a QUESTION query into the driver's bind type.
func (c *Conn) Rebind(query string) string { return c.x.Rebind(query) }

package cachedsql

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// The types and helpers of sqlx that programs name, so that a program
// written against sqlx changes its import and nothing else. The helpers are
// sqlx's own: on a DB or Tx of this package they go through the cache.

type (
	// Rows is sqlx.Rows.
	Rows = sqlx.Rows
	// Row is sqlx.Row.
	Row = sqlx.Row
	// Stmt is sqlx.Stmt; prepared on a DB or Tx of this package, its
	// reads are cached and its writes invalidate.
	Stmt = sqlx.Stmt
	// NamedStmt is sqlx.NamedStmt, likewise.
	NamedStmt = sqlx.NamedStmt
	// Queryer is sqlx.Queryer.
	Queryer = sqlx.Queryer
	// QueryerContext is sqlx.QueryerContext.
	QueryerContext = sqlx.QueryerContext
	// Execer is sqlx.Execer.
	Execer = sqlx.Execer
	// ExecerContext is sqlx.ExecerContext.
	ExecerContext = sqlx.ExecerContext
	// Ext is sqlx.Ext.
	Ext = sqlx.Ext
	// ExtContext is sqlx.ExtContext.
	ExtContext = sqlx.ExtContext
	// Preparer is sqlx.Preparer.
	Preparer = sqlx.Preparer
	// PreparerContext is sqlx.PreparerContext.
	PreparerContext = sqlx.PreparerContext
	// ColScanner is sqlx.ColScanner.
	ColScanner = sqlx.ColScanner
)

// The bind types of sqlx.
const (
	UNKNOWN  = sqlx.UNKNOWN
	QUESTION = sqlx.QUESTION
	DOLLAR   = sqlx.DOLLAR
	NAMED    = sqlx.NAMED
	AT       = sqlx.AT
)

// In expands slice arguments into lists, as sqlx.In.
func In(query string, args ...any) (string, []any, error) { return sqlx.In(query, args...) }

// Named compiles a named query into a QUESTION query, as sqlx.Named, with
// this package's [NameMapper].
func Named(query string, arg any) (string, []any, error) {
	return BindNamed(QUESTION, query, arg)
}

// BindNamed compiles a named query for a bind type, as sqlx.BindNamed, with
// this package's [NameMapper].
func BindNamed(bindType int, query string, arg any) (string, []any, error) {
	x := sqlx.NewDb(nil, bindDriver[bindType])
	x.Mapper = defaultMapper()
	return x.BindNamed(query, arg)
}

// bindDriver names a driver of each bind type, for the sqlx calls that take
// a driver name where this package's take a bind type.
var bindDriver = map[int]string{QUESTION: "mysql", DOLLAR: "postgres", NAMED: "oci8", AT: "sqlserver"}

// Rebind turns a QUESTION query into bindType's, as sqlx.Rebind.
func Rebind(bindType int, query string) string { return sqlx.Rebind(bindType, query) }

// BindType returns a driver's bind type, as sqlx.BindType.
func BindType(driverName string) int { return sqlx.BindType(driverName) }

// BindDriver sets a driver's bind type, as sqlx.BindDriver.
func BindDriver(driverName string, bindType int) { sqlx.BindDriver(driverName, bindType) }

// Get scans the single row of a query into dest, as sqlx.Get.
func Get(q Queryer, dest any, query string, args ...any) error {
	return sqlx.Get(q, dest, query, args...)
}

// GetContext is Get with a context.
func GetContext(ctx context.Context, q QueryerContext, dest any, query string, args ...any) error {
	return sqlx.GetContext(ctx, q, dest, query, args...)
}

// Select scans every row of a query into dest, a slice, as sqlx.Select.
func Select(q Queryer, dest any, query string, args ...any) error {
	return sqlx.Select(q, dest, query, args...)
}

// SelectContext is Select with a context.
func SelectContext(ctx context.Context, q QueryerContext, dest any, query string, args ...any) error {
	return sqlx.SelectContext(ctx, q, dest, query, args...)
}

// NamedQuery runs a named query, as sqlx.NamedQuery. On a [DB], [Tx] or
// [Conn] of this package it uses their mapper.
func NamedQuery(e Ext, query string, arg any) (*Rows, error) {
	switch v := e.(type) {
	case *DB:
		return v.NamedQuery(query, arg)
	case *Tx:
		return v.NamedQuery(query, arg)
	}
	return sqlx.NamedQuery(e, query, arg)
}

// NamedQueryContext is NamedQuery with a context.
func NamedQueryContext(ctx context.Context, e ExtContext, query string, arg any) (*Rows, error) {
	switch v := e.(type) {
	case *DB:
		return v.NamedQueryContext(ctx, query, arg)
	case *Tx:
		return sqlx.NamedQueryContext(ctx, v.sx(), query, arg)
	}
	return sqlx.NamedQueryContext(ctx, e, query, arg)
}

// NamedExec runs a named statement, as sqlx.NamedExec. On a [DB] or [Tx]
// of this package it uses their mapper.
func NamedExec(e Ext, query string, arg any) (sql.Result, error) {
	switch v := e.(type) {
	case *DB:
		return v.NamedExec(query, arg)
	case *Tx:
		return v.NamedExec(query, arg)
	}
	return sqlx.NamedExec(e, query, arg)
}

// NamedExecContext is NamedExec with a context.
func NamedExecContext(ctx context.Context, e ExtContext, query string, arg any) (sql.Result, error) {
	switch v := e.(type) {
	case *DB:
		return v.NamedExecContext(ctx, query, arg)
	case *Tx:
		return v.NamedExecContext(ctx, query, arg)
	}
	return sqlx.NamedExecContext(ctx, e, query, arg)
}

// MustExec runs a statement and panics on error, as sqlx.MustExec.
func MustExec(e Execer, query string, args ...any) sql.Result {
	return sqlx.MustExec(e, query, args...)
}

// MustExecContext is MustExec with a context.
func MustExecContext(ctx context.Context, e ExecerContext, query string, args ...any) sql.Result {
	return sqlx.MustExecContext(ctx, e, query, args...)
}

// LoadFile runs the statements of a file, as sqlx.LoadFile.
func LoadFile(e Execer, path string) (*sql.Result, error) { return sqlx.LoadFile(e, path) }

// LoadFileContext is LoadFile with a context.
func LoadFileContext(ctx context.Context, e ExecerContext, path string) (*sql.Result, error) {
	return sqlx.LoadFileContext(ctx, e, path)
}

// Preparex prepares a statement on p, as sqlx.Preparex.
func Preparex(p Preparer, query string) (*Stmt, error) {
	switch v := p.(type) {
	case *DB:
		return v.Preparex(query)
	case *Tx:
		return v.Preparex(query)
	}
	return sqlx.Preparex(p, query)
}

// PreparexContext is Preparex with a context.
func PreparexContext(ctx context.Context, p PreparerContext, query string) (*Stmt, error) {
	switch v := p.(type) {
	case *DB:
		return v.PreparexContext(ctx, query)
	case *Tx:
		return v.PreparexContext(ctx, query)
	case *Conn:
		return v.PreparexContext(ctx, query)
	}
	return sqlx.PreparexContext(ctx, p, query)
}

// MapScan scans a row into a map, as sqlx.MapScan.
func MapScan(r ColScanner, dest map[string]any) error { return sqlx.MapScan(r, dest) }

// SliceScan scans a row into a slice, as sqlx.SliceScan.
func SliceScan(r ColScanner) ([]any, error) { return sqlx.SliceScan(r) }

// StructScan scans every row of rows (a *Rows, or a *sql.Rows) into dest,
// a slice, as sqlx.StructScan.
func StructScan(rows interface {
	Close() error
	Columns() ([]string, error)
	Err() error
	Next() bool
	Scan(...any) error
}, dest any) error {
	if r, ok := rows.(*sql.Rows); ok {
		return sqlx.StructScan(&sqlx.Rows{Rows: r, Mapper: defaultMapper()}, dest)
	}
	return sqlx.StructScan(rows, dest)
}

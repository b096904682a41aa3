package rowset

import (
	"database/sql"
	"slices"
	"sync/atomic"
)

// Limits bound what [Materialize] keeps. The zero value means no limit.
type Limits struct {
	// MaxRows is the most rows a cacheable result may have, over all its
	// result sets. 0 means no limit.
	MaxRows int

	// MaxBytes is the largest [Set.Size] a cacheable result may have.
	// 0 means no limit.
	MaxBytes int
}

// Overflow is a result that exceeded the [Limits] given to [Materialize]:
// the rows read before the limit was passed, and the still-open *sql.Rows
// the rest comes from. Replaying it once, with any of the replay functions
// ([Query], [Queryx], [Get], [Select], [QueryRow], [QueryRowx]), gives the
// caller the whole result, as the database gave it, without running the
// query again: first the rows already read, then the rest as it is read
// from the database. It is never cacheable, and a second replay fails with
// [ErrOverflowReplayed].
//
// The replay owns the database rows and closes them when the caller closes
// (or finishes) the replayed rows. An Overflow that will not be replayed
// must be closed with [Overflow.Close], to give the database connection
// back. An Overflow is for one goroutine at a time.
type Overflow struct {
	read    *Set      // the rows read so far; the last result is the one rest is in
	rest    *sql.Rows // the rows still to come, open
	pending bool      // rest.Next returned true for a row not yet scanned
	used    atomic.Bool
}

// Close closes the database rows of an Overflow that will not be replayed.
// It is harmless after a replay has finished, and returns the rows' error.
func (o *Overflow) Close() error { return o.rest.Close() }

// Rows returns how many rows were read before the limit was passed.
func (o *Overflow) Rows() int { return o.read.Rows() }

// Materialize reads a query's result to the end, closes rows, and returns
// it as a [Set]: every result set (database/sql's Rows.NextResultSet), and
// for each its columns, their type information as rows.ColumnTypes gives
// it before the first row, and every row as the exact driver values the
// driver produced (rows are scanned into *any, which copies the driver's
// value without converting it; []byte values are copies).
//
// An error from the driver (rows.Err, or a failed Scan) is returned with a
// nil Set and Overflow, after rows is closed: it is never part of a Set.
//
// When the result exceeds lim, Materialize stops reading and returns a
// nil Set and an [*Overflow] holding the rows read so far and the
// still-open rows: the caller replays the Overflow to serve the whole
// result without running the query twice, and caches nothing. Exactly one
// of the three results is non-nil. A result of exactly lim.MaxRows rows
// fits; the row past it is detected with rows.Next and is not yet read
// when the Overflow is returned, so at most lim.MaxRows rows, or the rows
// up to the first one that takes the estimate past lim.MaxBytes, are ever
// buffered.
func Materialize(rows *sql.Rows, lim Limits) (*Set, *Overflow, error) {
	s := &Set{}
	total := 0
	var cells, ptrs []any // Scan's destinations, reused from row to row
	for {
		r, err := readHeader(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		s.size += columnsSize(r.cols)
		n := len(r.cols)
		if cap(cells) < n {
			cells, ptrs = make([]any, n), make([]any, n)
		}
		cells, ptrs = cells[:n], ptrs[:n]
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		for rows.Next() {
			if lim.MaxRows > 0 && total == lim.MaxRows {
				s.results = append(s.results, r.finish())
				return nil, &Overflow{read: s, rest: rows, pending: true}, nil
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return nil, nil, err
			}
			for _, v := range cells {
				s.size += cellSize(v)
				if b, ok := v.([]byte); ok {
					r.byteTotal += len(b)
				}
				r.values = append(r.values, v)
			}
			r.rows++
			total++
			if lim.MaxBytes > 0 && s.size > lim.MaxBytes {
				s.results = append(s.results, r.finish())
				return nil, &Overflow{read: s, rest: rows}, nil
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, nil, err
		}
		s.results = append(s.results, r.finish())
		if !rows.NextResultSet() {
			if err := rows.Err(); err != nil {
				rows.Close()
				return nil, nil, err
			}
			break
		}
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}

// readHeader starts a result from the columns rows is at.
func readHeader(rows *sql.Rows) (result, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		return result{}, err
	}
	r := result{cols: make([]column, len(cts)), names: make([]string, len(cts))}
	for i, ct := range cts {
		r.cols[i] = columnOf(ct)
		r.names[i] = r.cols[i].name
	}
	return r, nil
}

// finish trims r's values to their length, so that a cached set holds no
// spare capacity, and indexes them.
func (r result) finish() result {
	if cap(r.values)-len(r.values) > len(r.values)/8 {
		r.values = slices.Clip(slices.Clone(r.values))
	}
	r.index()
	return r
}

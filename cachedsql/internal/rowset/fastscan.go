package rowset

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx/reflectx"
)

// The direct scan: Select and Get of a Set into structs, the cache hit of
// most programs, without database/sql and sqlx in between. Through them a
// row costs some 700 ns (a Scan with its locks, reflect.New and an append
// per row, a conversion through interfaces per cell); the direct scan
// plans each column once and writes each field in place.
//
// It is exact by construction, not by approximation: a column is planned
// only for a field type, and the kinds of value the column holds (known
// from the Set), for which database/sql's convertAssign gives a known
// result and no error; a field that is an sql.Scanner is handed the value,
// as database/sql does (the standard sql.Null types are written as their
// Scan methods would). Anything else (a conversion that could fail, a
// field type it does not plan, a missing column when not unsafe, a
// destination sqlx scans as a whole) falls back to sqlx's own code over
// the replay driver, which then gives sqlx's answer, errors included.
//
// Fields are written through unsafe pointers at offsets reflect gives, to
// the field's own type (or a type of the same kind and layout); fields
// behind embedded pointers are reached with sqlx's reflectx.FieldByIndexes,
// which allocates them as sqlx does.

// directScanEnabled turns the direct scan off, for tests that compare it
// with sqlx's.
var directScanEnabled = true

// directScans counts the Selects and Gets scanned directly, for tests,
// which set countDirectScans: counting costs a shared write per hit.
var (
	directScans      atomic.Int64
	countDirectScans bool
)

// fieldOp is how a column's values are set into a field.
type fieldOp uint8

const (
	opSkip        fieldOp = iota // unsafe, and no field: the value is dropped
	opAny                        // interface{}: the value ([]byte copied)
	opString                     // string kind, from string or []byte
	opBytes                      // []byte, from []byte (copied), string or nil
	opInt                        // int kinds, from int64 within the kind's range
	opInt64                      // opInt for a kind of 64 bits
	opUint                       // uint kinds, from non-negative int64 within range
	opFloat64                    // float64 kind, from float64
	opBool                       // bool kind, from bool
	opTime                       // time.Time, from time.Time
	opNullString                 // sql.NullString, from string, []byte or nil
	opNullInt64                  // sql.NullInt64, from int64 or nil
	opNullFloat64                // sql.NullFloat64, from float64 or nil
	opNullBool                   // sql.NullBool, from bool or nil
	opNullTime                   // sql.NullTime, from time.Time or nil
	opScanner                    // the field's Scan method, from anything
	opPtr                        // a new element, set by elem; nil from nil
)

// columnPlan says how one column is set.
type columnPlan struct {
	index  []int        // the field's traversal, as sqlx's mapper gives it
	offset uintptr      // the field's offset in the struct, when inline
	inline bool         // the field is at offset, with no pointer on the way
	op     fieldOp      // how the field is set
	elem   fieldOp      // opPtr's op for the new element
	typ    reflect.Type // the field's type; opPtr's element type
}

var (
	scannerType     = reflect.TypeFor[sql.Scanner]()
	bytesType       = reflect.TypeFor[[]byte]()
	anyType         = reflect.TypeFor[any]()
	nullStringType  = reflect.TypeFor[sql.NullString]()
	nullInt64Type   = reflect.TypeFor[sql.NullInt64]()
	nullFloat64Type = reflect.TypeFor[sql.NullFloat64]()
	nullBoolType    = reflect.TypeFor[sql.NullBool]()
	nullTimeType    = reflect.TypeFor[sql.NullTime]()
)

// opFor plans setting a field of type t from values of the kinds k, and
// says false if it cannot be done exactly without error.
func opFor(t reflect.Type, k kindSet) (fieldOp, bool) {
	switch t {
	case anyType:
		return opAny, true
	case bytesType:
		return opBytes, k&^(kindBytes|kindString|kindNil) == 0
	case timeType:
		return opTime, k&^kindTime == 0
	case nullStringType:
		return opNullString, k&^(kindString|kindBytes|kindNil) == 0
	case nullInt64Type:
		return opNullInt64, k&^(kindInt64|kindNil) == 0
	case nullFloat64Type:
		return opNullFloat64, k&^(kindFloat64|kindNil) == 0
	case nullBoolType:
		return opNullBool, k&^(kindBool|kindNil) == 0
	case nullTimeType:
		return opNullTime, k&^(kindTime|kindNil) == 0
	}
	if reflect.PointerTo(t).Implements(scannerType) {
		return opScanner, true
	}
	switch t.Kind() {
	case reflect.String:
		return opString, k&^(kindString|kindBytes) == 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return opInt, k&^kindInt64 == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return opUint, k&^kindInt64 == 0
	case reflect.Float64:
		return opFloat64, k&^kindFloat64 == 0
	case reflect.Bool:
		return opBool, k&^kindBool == 0
	}
	return 0, false
}

// planColumn plans column c of r into the field fi of base, or says false.
func planColumn(r *result, c int, base reflect.Type, fi *reflectx.FieldInfo) (columnPlan, bool) {
	t, k := fi.Field.Type, r.kinds[c]
	p := columnPlan{index: fi.Index, typ: t}
	p.offset, p.inline = fieldOffset(base, fi.Index)
	if t.Kind() == reflect.Pointer {
		// database/sql allocates a new element for a value, and sets nil
		// for NULL (a pointer type has no Scan method of its own).
		elem, ok := opFor(t.Elem(), k&^kindNil)
		if !ok || t.Elem().Kind() == reflect.Pointer {
			return p, false
		}
		p.op, p.elem, p.typ = opPtr, elem, t.Elem()
	} else {
		op, ok := opFor(t, k)
		if !ok {
			return p, false
		}
		p.op = op
	}
	if p.op == opInt || p.op == opUint || p.elem == opInt || p.elem == opUint {
		if !r.fitsInts(c, p.typ) {
			return p, false // strconv would fail for some value
		}
	}
	if p.op == opInt && p.typ.Size() == 8 {
		p.op = opInt64
	}
	return p, true
}

// fieldOffset returns the offset of the field at index in base, and false
// when an embedded pointer lies on the way.
func fieldOffset(base reflect.Type, index []int) (uintptr, bool) {
	var off uintptr
	t := base
	for n, i := range index {
		if t.Kind() != reflect.Struct {
			return 0, false
		}
		f := t.Field(i)
		off += f.Offset
		if n < len(index)-1 {
			t = f.Type
		}
	}
	return off, true
}

// cachedPlan is a plan for the first result set of a Set, for structs of
// type base scanned with mapper m and unsafe setting unsafeMode; nil plans
// mean only sqlx can.
type cachedPlan struct {
	base       reflect.Type
	m          *reflectx.Mapper
	unsafeMode bool
	plans      []columnPlan
}

// maxCachedPlans bounds the plans a Set keeps: a query is scanned into one
// struct type, or a few.
const maxCachedPlans = 4

// planFor returns the plan for scanning s's first result set into structs
// of type base, from s's cache or made and cached.
func (s *Set) planFor(base reflect.Type, m *reflectx.Mapper, unsafeMode bool) ([]columnPlan, bool) {
	cached := s.plans.Load()
	if cached != nil {
		for i := range *cached {
			if c := &(*cached)[i]; c.base == base && c.m == m && c.unsafeMode == unsafeMode {
				return c.plans, c.plans != nil
			}
		}
	}
	plans, ok := plan(&s.results[0], base, m, unsafeMode)
	if !ok {
		plans = nil
	}
	if cached == nil || len(*cached) < maxCachedPlans {
		var next []cachedPlan
		if cached != nil {
			next = append(next, *cached...)
		}
		next = append(next, cachedPlan{base: base, m: m, unsafeMode: unsafeMode, plans: plans})
		s.plans.CompareAndSwap(cached, &next) // a lost race only loses the caching
	}
	return plans, ok
}

// plan plans scanning r into structs of type base with mapper m, or says
// false when only sqlx can do it exactly.
func plan(r *result, base reflect.Type, m *reflectx.Mapper, unsafeMode bool) ([]columnPlan, bool) {
	if base.Kind() != reflect.Struct || reflect.PointerTo(base).Implements(scannerType) ||
		len(defaultDBs()[0].Mapper.TypeMap(base).Index) == 0 { // sqlx's isScannable
		return nil, false
	}
	plans := make([]columnPlan, len(r.cols))
	fields := m.TypeMap(base).Names
	for c, name := range r.names {
		fi := fields[name]
		if fi == nil {
			if !unsafeMode {
				return nil, false // sqlx's "missing destination name" error
			}
			plans[c] = columnPlan{op: opSkip}
			continue
		}
		p, ok := planColumn(r, c, base, fi)
		if !ok {
			return nil, false
		}
		plans[c] = p
	}
	return plans, true
}

// fitsInts reports whether every int64 of column c lies within the range
// of t, an int or uint kind, as strconv.ParseInt or ParseUint would find.
func (r *result) fitsInts(c int, t reflect.Type) bool {
	bits := t.Bits()
	var lo int64
	var hi uint64
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		lo, hi = -1<<(bits-1), 1<<(bits-1)-1
	default:
		hi = math.MaxUint64 >> (64 - bits)
	}
	n := len(r.cols)
	for i := c; i < len(r.values); i += n {
		if v, ok := r.values[i].(int64); ok && (v < lo || (v >= 0 && uint64(v) > hi)) {
			return false
		}
	}
	return true
}

// scanner sets fields from one result. It owns the copies it makes of
// []byte values: one arena per scan, cut into slices with no spare
// capacity.
type scanner struct {
	r     *result
	base  reflect.Type
	plans []columnPlan
	arena []byte
}

// row sets the fields of the struct at ptr from row i, in column order,
// and returns database/sql's error for a Scan method's failure.
func (s *scanner) row(ptr unsafe.Pointer, i int) error {
	n := len(s.r.cols)
	values := s.r.values[i*n : i*n+n]
	for c := range s.plans {
		p := &s.plans[c]
		if p.op == opSkip {
			continue
		}
		var f unsafe.Pointer
		if p.inline {
			f = unsafe.Add(ptr, p.offset)
		} else {
			f = reflectx.FieldByIndexes(reflect.NewAt(s.base, ptr).Elem(), p.index).Addr().UnsafePointer()
		}
		// The commonest ops here, the rest in set: a call per field is a
		// good part of a row's cost.
		switch v := values[c]; p.op {
		case opInt64:
			*(*int64)(f) = v.(int64)
		case opString:
			*(*string)(f) = asString(v)
		case opFloat64:
			*(*float64)(f) = v.(float64)
		case opBool:
			*(*bool)(f) = v.(bool)
		case opTime:
			*(*time.Time)(f) = v.(time.Time)
		default:
			if err := s.set(f, p, v); err != nil {
				return fmt.Errorf("sql: Scan error on column index %d, name %q: %w", c, s.r.names[c], err)
			}
		}
	}
	return nil
}

// infallible reports whether no cell can fail to scan and every field is
// at a fixed offset: then the rows may be set column by column (see
// columns), since no error can stop a scan part way.
func (s *scanner) infallible() bool {
	for i := range s.plans {
		p := &s.plans[i]
		if p.op != opSkip && (p.op == opScanner || p.elem == opScanner || !p.inline) {
			return false
		}
	}
	return true
}

// columns sets the fields of every row, column by column, into the
// structs laid out from first every size bytes. Within a column the op
// is the same for every row, so the loop over rows is tight and its
// branches predictable: about a quarter faster than row by row for
// typical rows (BenchmarkReplay, 100 rows of eight columns).
// Only for an infallible plan.
func (s *scanner) columns(first unsafe.Pointer, size uintptr) {
	n, rows := len(s.r.cols), s.r.rows
	for c := range s.plans {
		p := &s.plans[c]
		f := unsafe.Add(first, p.offset)
		at := func(i int) unsafe.Pointer { return unsafe.Add(f, uintptr(i)*size) }
		vals := s.r.values[c:]
		switch p.op {
		case opSkip:
		case opInt64:
			fill[int64](f, size, vals, n, rows)
		case opFloat64:
			fill[float64](f, size, vals, n, rows)
		case opBool:
			fill[bool](f, size, vals, n, rows)
		case opTime:
			fill[time.Time](f, size, vals, n, rows)
		case opString:
			for i := range rows {
				*(*string)(at(i)) = asString(vals[i*n])
			}
		case opBytes:
			for i := range rows {
				if b, ok := vals[i*n].([]byte); ok {
					*(*[]byte)(at(i)) = s.copyBytes(b)
				} else {
					_ = s.set(at(i), p, vals[i*n]) // nil or a string
				}
			}
		case opNullString:
			for i := range rows {
				if v := vals[i*n]; v != nil {
					*(*sql.NullString)(at(i)) = sql.NullString{String: asString(v), Valid: true}
				} else {
					*(*sql.NullString)(at(i)) = sql.NullString{}
				}
			}
		default:
			for i := range rows {
				_ = s.set(at(i), p, vals[i*n]) // infallible: no Scan method
			}
		}
	}
}

// fill sets the field at f of each of rows structs laid out size bytes
// apart from every n-th of vals, each a T.
func fill[T any](f unsafe.Pointer, size uintptr, vals []driver.Value, n, rows int) {
	for i := range rows {
		*(*T)(unsafe.Add(f, uintptr(i)*size)) = vals[i*n].(T)
	}
}

// set sets the field at f as p says, from v.
func (s *scanner) set(f unsafe.Pointer, p *columnPlan, v any) error {
	op := p.op
	if op == opPtr {
		if v == nil {
			*(*unsafe.Pointer)(f) = nil
			return nil
		}
		e := reflect.New(p.typ).UnsafePointer()
		*(*unsafe.Pointer)(f) = e
		f, op = e, p.elem
	}
	switch op {
	case opAny:
		if b, ok := v.([]byte); ok {
			v = bytes.Clone(b)
		}
		*(*any)(f) = v
	case opString:
		*(*string)(f) = asString(v)
	case opBytes:
		switch v := v.(type) {
		case nil:
			*(*[]byte)(f) = nil
		case string:
			*(*[]byte)(f) = []byte(v)
		case []byte:
			*(*[]byte)(f) = s.copyBytes(v)
		}
	case opInt, opInt64:
		i := v.(int64)
		switch p.typ.Kind() {
		case reflect.Int:
			*(*int)(f) = int(i)
		case reflect.Int8:
			*(*int8)(f) = int8(i)
		case reflect.Int16:
			*(*int16)(f) = int16(i)
		case reflect.Int32:
			*(*int32)(f) = int32(i)
		default:
			*(*int64)(f) = i
		}
	case opUint:
		u := uint64(v.(int64))
		switch p.typ.Kind() {
		case reflect.Uint:
			*(*uint)(f) = uint(u)
		case reflect.Uint8:
			*(*uint8)(f) = uint8(u)
		case reflect.Uint16:
			*(*uint16)(f) = uint16(u)
		case reflect.Uint32:
			*(*uint32)(f) = uint32(u)
		default:
			*(*uint64)(f) = u
		}
	case opFloat64:
		*(*float64)(f) = v.(float64)
	case opBool:
		*(*bool)(f) = v.(bool)
	case opTime:
		*(*time.Time)(f) = v.(time.Time)
	case opNullString:
		if v == nil {
			*(*sql.NullString)(f) = sql.NullString{}
		} else {
			*(*sql.NullString)(f) = sql.NullString{String: asString(v), Valid: true}
		}
	case opNullInt64:
		if v == nil {
			*(*sql.NullInt64)(f) = sql.NullInt64{}
		} else {
			*(*sql.NullInt64)(f) = sql.NullInt64{Int64: v.(int64), Valid: true}
		}
	case opNullFloat64:
		if v == nil {
			*(*sql.NullFloat64)(f) = sql.NullFloat64{}
		} else {
			*(*sql.NullFloat64)(f) = sql.NullFloat64{Float64: v.(float64), Valid: true}
		}
	case opNullBool:
		if v == nil {
			*(*sql.NullBool)(f) = sql.NullBool{}
		} else {
			*(*sql.NullBool)(f) = sql.NullBool{Bool: v.(bool), Valid: true}
		}
	case opNullTime:
		if v == nil {
			*(*sql.NullTime)(f) = sql.NullTime{}
		} else {
			*(*sql.NullTime)(f) = sql.NullTime{Time: v.(time.Time), Valid: true}
		}
	case opScanner:
		if b, ok := v.([]byte); ok {
			v = s.copyBytes(b)
		}
		return reflect.NewAt(p.typ, f).Interface().(sql.Scanner).Scan(v)
	}
	return nil
}

// asString is database/sql's conversion of a string or []byte to a string.
func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v.(string)
}

// copyBytes returns a copy of b that no one else holds: database/sql
// gives a *[]byte a copy, and a Scan method must not reach the Set.
func (s *scanner) copyBytes(b []byte) []byte {
	n := len(b)
	if n == 0 {
		return bytes.Clone(b) // nil stays nil, empty stays empty
	}
	if len(s.arena) < n {
		s.arena = make([]byte, max(n, min(s.r.byteTotal, 32<<10)))
	}
	c := s.arena[:n:n]
	s.arena = s.arena[n:]
	copy(c, b)
	return c
}

// selectDirect is Select of a Set into a slice of structs, scanned
// directly; it returns false, having changed nothing, when only sqlx can
// do it exactly.
func selectDirect(ctx context.Context, src Source, dest any, m *reflectx.Mapper, unsafeMode bool) (bool, error) {
	s, ok := src.(*Set)
	if !ok || !directScanEnabled || len(s.results) == 0 || ctx.Err() != nil {
		return false, nil
	}
	value := reflect.ValueOf(dest)
	if value.Kind() != reflect.Pointer || value.IsNil() || value.Elem().Kind() != reflect.Slice {
		return false, nil
	}
	direct := value.Elem()
	elemType := direct.Type().Elem()
	isPtr := elemType.Kind() == reflect.Pointer
	base := elemType
	if isPtr {
		base = elemType.Elem()
	}
	r := &s.results[0]
	plans, ok := s.planFor(base, m, unsafeMode)
	if !ok {
		return false, nil
	}

	// As sqlx does: empty the slice, then append a fresh struct per row.
	if countDirectScans {
		directScans.Add(1)
	}
	direct.SetLen(0)
	if r.rows == 0 {
		return true, nil
	}
	grown := direct.Cap() < r.rows
	if grown {
		direct.Grow(r.rows) // zeroed: the old elements were cut off above
	}
	direct.SetLen(r.rows)
	var structs unsafe.Pointer // a []*T's structs, in one allocation
	if isPtr {
		structs = reflect.MakeSlice(reflect.SliceOf(base), r.rows, r.rows).Index(0).Addr().UnsafePointer()
	} else {
		// The caller's old elements, which reflect.Value.Grow copies into
		// a new array too: each row starts from zero.
		direct.Clear()
	}
	elems := direct.Index(0).Addr().UnsafePointer()
	size := base.Size()
	sc := scanner{r: r, base: base, plans: plans}
	if sc.infallible() {
		first := elems
		if isPtr {
			first = structs
			for i := range r.rows {
				*(*unsafe.Pointer)(unsafe.Add(elems, uintptr(i)*unsafe.Sizeof(first))) = unsafe.Add(structs, uintptr(i)*size)
			}
		}
		sc.columns(first, size)
		return true, nil
	}
	for i := range r.rows {
		var ptr unsafe.Pointer
		if isPtr {
			ptr = unsafe.Add(structs, uintptr(i)*size)
			*(*unsafe.Pointer)(unsafe.Add(elems, uintptr(i)*unsafe.Sizeof(ptr))) = ptr
		} else {
			ptr = unsafe.Add(elems, uintptr(i)*size)
		}
		if err := sc.row(ptr, i); err != nil {
			direct.SetLen(i) // the rows before, as sqlx leaves them
			return true, err
		}
	}
	return true, nil
}

// getDirect is Get of a Set's first row into a struct, scanned directly;
// it returns false, having changed nothing, when only sqlx can do it
// exactly.
func getDirect(ctx context.Context, src Source, dest any, m *reflectx.Mapper, unsafeMode bool) (bool, error) {
	s, ok := src.(*Set)
	if !ok || !directScanEnabled || len(s.results) == 0 || ctx.Err() != nil {
		return false, nil
	}
	value := reflect.ValueOf(dest)
	if value.Kind() != reflect.Pointer || value.IsNil() {
		return false, nil
	}
	base := value.Type().Elem()
	r := &s.results[0]
	plans, ok := s.planFor(base, m, unsafeMode)
	if !ok {
		return false, nil
	}
	if countDirectScans {
		directScans.Add(1)
	}
	// sqlx finds every field before it scans into any, allocating nil
	// pointers on the way: on an empty result, or should a Scan method
	// fail, they stay so. reflectx.FieldByIndexes allocates the field
	// itself too when it is a nil pointer, so after sql.ErrNoRows a
	// `Name *string` field is a pointer to "", not nil. A pointer field
	// is set afresh (or to nil) by its column, so its allocation shows
	// only when no row is scanned, or when a Scan method may fail before
	// its column is reached: only then is it made, to spare hits the
	// allocation.
	fallible := false
	for c := range plans {
		if p := &plans[c]; p.op == opScanner || p.elem == opScanner {
			fallible = true
		}
	}
	for c := range plans {
		p := &plans[c]
		if len(p.index) == 0 { // opSkip: no field
			continue
		}
		if !p.inline || (p.op == opPtr && (r.rows == 0 || fallible)) {
			reflectx.FieldByIndexes(value.Elem(), p.index)
		}
	}
	if r.rows == 0 {
		return true, sql.ErrNoRows
	}
	sc := scanner{r: r, base: base, plans: plans}
	return true, sc.row(value.UnsafePointer(), 0)
}

package rowset

import (
	"database/sql"
	"reflect"
	"time"
)

// scanTypes is the closed set of scan types the binary encoding carries,
// the types database/sql drivers report from ColumnTypeScanType. A type's
// position is its code in the encoding: append new types, never reorder
// or remove one. The first two stand for database/sql's own answers: nil
// (a driver may report it, as SQLite does for a NULL), and any (what
// database/sql reports when the driver says nothing).
var scanTypes = [...]reflect.Type{
	nil,
	reflect.TypeFor[any](),
	reflect.TypeFor[bool](),
	reflect.TypeFor[int](),
	reflect.TypeFor[int8](),
	reflect.TypeFor[int16](),
	reflect.TypeFor[int32](),
	reflect.TypeFor[int64](),
	reflect.TypeFor[uint](),
	reflect.TypeFor[uint8](),
	reflect.TypeFor[uint16](),
	reflect.TypeFor[uint32](),
	reflect.TypeFor[uint64](),
	reflect.TypeFor[float32](),
	reflect.TypeFor[float64](),
	reflect.TypeFor[string](),
	reflect.TypeFor[[]byte](),
	reflect.TypeFor[sql.RawBytes](),
	reflect.TypeFor[time.Time](),
	reflect.TypeFor[sql.NullBool](),
	reflect.TypeFor[sql.NullByte](),
	reflect.TypeFor[sql.NullInt16](),
	reflect.TypeFor[sql.NullInt32](),
	reflect.TypeFor[sql.NullInt64](),
	reflect.TypeFor[sql.NullFloat64](),
	reflect.TypeFor[sql.NullString](),
	reflect.TypeFor[sql.NullTime](),
	reflect.TypeFor[*any](),
}

// scanTypeCodes maps each type of scanTypes (but nil) to its code.
var scanTypeCodes = func() map[reflect.Type]byte {
	m := make(map[reflect.Type]byte, len(scanTypes))
	for i, t := range scanTypes {
		if t != nil {
			m[t] = byte(i)
		}
	}
	return m
}()

// scanTypeCode returns the encoding's code for t, and false for a type
// outside the closed set.
func scanTypeCode(t reflect.Type) (byte, bool) {
	if t == nil {
		return 0, true
	}
	c, ok := scanTypeCodes[t]
	return c, ok
}

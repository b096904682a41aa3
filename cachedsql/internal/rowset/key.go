package rowset

import (
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
	"time"
)

// Key returns the cache key of a query: namespace, a colon, and the hex
// SHA-256 of a typed encoding of namespace, session, normalizedSQL, args
// and the tags the entry is asked for with, if any (the same query asked
// for with other tags is another entry; with none, the key is that of the
// query alone). session holds the settings of the database session that
// shape the values a query returns (PostgreSQL's TimeZone, DateStyle, …),
// so that sessions whose settings differ do not share results; "" when
// none apply. Keys are at most 129 bytes of printable ASCII without
// spaces, whatever the query, so any store takes them; they are the same
// in every process and build. The namespace is shown as a prefix, for
// people reading the store: bytes outside '!'…'~' become '_' and it is cut
// at 64 bytes (the hash covers it whole).
//
// Arguments are encoded with their types: two argument lists give the
// same key only when they hold the same values of the same types, with
// these equivalences, which every driver honours:
//
//   - int and int64 are one type, and so are uint and uint64 (database/sql
//     turns both into int64 driver values, and pgx sends both as the same
//     PostgreSQL type); other widths stay apart, since pgx sends int32 as
//     int4 and int64 as int8.
//   - A non-nil pointer is the value it points to (database/sql and pgx
//     dereference it). A nil pointer is NULL of its type: it differs from
//     an untyped nil and from a nil pointer of another type.
//   - A driver.Valuer is its type and what its Value method returns (so
//     sql.NullString{} differs from nil, and from a *sql.NullString).
//
// Everything else keeps apart: 1, int32(1), "1" and []byte("1"); a nil
// []byte from an empty one; a named type from its underlying type (pgx may
// register named types); a time.Time's instant and location (name and
// offset at that instant; its monotonic reading is ignored); float bits
// (so -0 and 0, and NaNs with different payloads, differ); sql.NamedArg's
// name; a slice from an array, and each from its element type.
//
// Supported: nil, bool, every integer and float kind, string, []byte,
// time.Time, driver.Valuer, pointers, sql.NamedArg, slices and arrays of
// supported elements, and named types over these kinds. Anything else (a
// map, channel, function, complex number, a struct that is neither a
// time.Time nor a Valuer) has no deterministic encoding, so Key returns an
// error wrapping [ErrKeyArgument] that names the argument's position and
// Go type, and the query should run uncached. An error from a Valuer is
// returned too.
func Key(namespace, session, normalizedSQL string, args []any, tags ...string) (string, error) {
	e := keyEncoders.Get().(*keyEncoder)
	defer keyEncoders.Put(e)
	e.b = append(e.b[:0], keyFormat...)
	e.str(namespace)
	e.str(session)
	e.str(normalizedSQL)
	e.uvarint(uint64(len(args)))
	for i, a := range args {
		if err := e.value(reflect.Value{}, a, 0); err != nil {
			return "", fmt.Errorf("%w: args[%d] is a %s: %v", ErrKeyArgument, i, typeString(a), err)
		}
	}
	if len(tags) > 0 {
		// After the counted arguments, so no argument list can read as
		// tags.
		e.uvarint(uint64(len(tags)))
		for _, t := range tags {
			e.str(t)
		}
	}
	sum := sha256.Sum256(e.b)
	if cap(e.b) > 64<<10 {
		e.b = nil // don't keep a huge argument's buffer in the pool
	}

	var buf [maxPrefix + 1 + 2*sha256.Size]byte
	k := appendPrefix(buf[:0], namespace)
	k = append(k, ':')
	k = hex.AppendEncode(k, sum[:])
	return string(k), nil
}

// keyFormat starts every encoded key: change it whenever the encoding
// changes, so that no key of one encoding can equal one of another.
const keyFormat = "dogpile/rowset/key/2\x00"

// maxPrefix is the most bytes of the namespace a key shows.
const maxPrefix = 64

func appendPrefix(b []byte, namespace string) []byte {
	for i := 0; i < len(namespace) && i < maxPrefix; i++ {
		c := namespace[i]
		if c < '!' || c > '~' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

func typeString(a any) string {
	if a == nil {
		return "nil"
	}
	return reflect.TypeOf(a).String()
}

var keyEncoders = sync.Pool{New: func() any { return &keyEncoder{b: make([]byte, 0, 512)} }}

// Argument tags. Each value starts with one; tagKeyNamed prefixes the
// value of a named (non-predeclared) type with the type's identity.
const (
	tagKeyNil = iota
	tagKeyNilPtr
	tagKeyNamedArg
	tagKeyValuer
	tagKeyNamed
	tagKeyFalse
	tagKeyTrue
	tagKeyInt64 // int and int64
	tagKeyInt8
	tagKeyInt16
	tagKeyInt32
	tagKeyUint64 // uint and uint64
	tagKeyUint8
	tagKeyUint16
	tagKeyUint32
	tagKeyFloat32
	tagKeyFloat64
	tagKeyString
	tagKeyBytes
	tagKeyBytesNil
	tagKeyTime
	tagKeySlice
	tagKeySliceNil
	tagKeyArray
)

// intKeyTags are the tags of the integer kinds: int is int64 and uint is
// uint64 in a key, whatever the platform.
var intKeyTags = [...]byte{
	reflect.Int: tagKeyInt64, reflect.Int8: tagKeyInt8, reflect.Int16: tagKeyInt16, reflect.Int32: tagKeyInt32, reflect.Int64: tagKeyInt64,
	reflect.Uint: tagKeyUint64, reflect.Uint8: tagKeyUint8, reflect.Uint16: tagKeyUint16, reflect.Uint32: tagKeyUint32, reflect.Uint64: tagKeyUint64,
}

// maxKeyDepth bounds the nesting of pointers, Valuers and slices, so that
// a cycle (a Valuer that returns itself, an interface that points to
// itself) is an error rather than a hang.
const maxKeyDepth = 32

type keyEncoder struct{ b []byte }

func (e *keyEncoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *keyEncoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *keyEncoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

var (
	valuerType = reflect.TypeFor[driver.Valuer]()
	timeType   = reflect.TypeFor[time.Time]()
)

// value encodes a, or rv when a is nil and rv valid (elements of slices
// and arrays, reached by reflection).
func (e *keyEncoder) value(rv reflect.Value, a any, depth int) error {
	if depth > maxKeyDepth {
		return fmt.Errorf("nested more than %d deep (a cycle?)", maxKeyDepth)
	}
	if !rv.IsValid() {
		// The common types, without reflection.
		switch v := a.(type) {
		case nil:
			e.b = append(e.b, tagKeyNil)
			return nil
		case int64:
			e.b = append(e.b, tagKeyInt64)
			e.varint(v)
			return nil
		case int:
			e.b = append(e.b, tagKeyInt64)
			e.varint(int64(v))
			return nil
		case int32:
			e.b = append(e.b, tagKeyInt32)
			e.varint(int64(v))
			return nil
		case string:
			e.b = append(e.b, tagKeyString)
			e.str(v)
			return nil
		case []byte:
			e.bytes(v)
			return nil
		case bool:
			e.bool(v)
			return nil
		case float64:
			e.b = append(e.b, tagKeyFloat64)
			e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
			return nil
		case time.Time:
			e.time(v)
			return nil
		case sql.NamedArg:
			e.b = append(e.b, tagKeyNamedArg)
			e.str(v.Name)
			return e.value(reflect.Value{}, v.Value, depth+1)
		}
		rv = reflect.ValueOf(a)
	}
	if rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			e.b = append(e.b, tagKeyNil)
			return nil
		}
		rv = rv.Elem()
	}
	t := rv.Type()

	if rv.Kind() == reflect.Pointer && (!t.Implements(valuerType) || t.Elem().Implements(valuerType)) {
		// A pointer to anything but a Value method with a pointer
		// receiver: its value, or NULL.
		if rv.IsNil() {
			e.b = append(e.b, tagKeyNilPtr)
			e.str(typeID(t))
			return nil
		}
		return e.value(rv.Elem(), nil, depth+1)
	}
	if t.Implements(valuerType) {
		v, err := rv.Interface().(driver.Valuer).Value()
		if err != nil {
			return fmt.Errorf("%s.Value: %w", t, err)
		}
		e.b = append(e.b, tagKeyValuer)
		e.str(typeID(t))
		return e.value(reflect.Value{}, v, depth+1)
	}
	if t == timeType {
		e.time(rv.Interface().(time.Time))
		return nil
	}
	if t.Name() != "" && t.PkgPath() != "" {
		e.b = append(e.b, tagKeyNamed)
		e.str(typeID(t))
	}
	switch rv.Kind() {
	case reflect.Bool:
		e.bool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.b = append(e.b, intKeyTags[rv.Kind()])
		e.varint(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.b = append(e.b, intKeyTags[rv.Kind()])
		e.uvarint(rv.Uint())
	case reflect.Float32:
		e.b = append(e.b, tagKeyFloat32)
		e.b = binary.LittleEndian.AppendUint32(e.b, math.Float32bits(float32(rv.Float())))
	case reflect.Float64:
		e.b = append(e.b, tagKeyFloat64)
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(rv.Float()))
	case reflect.String:
		e.b = append(e.b, tagKeyString)
		e.str(rv.String())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && t.Elem().PkgPath() == "" {
			e.bytes(rv.Bytes())
			return nil
		}
		if rv.IsNil() {
			e.b = append(e.b, tagKeySliceNil)
			e.str(typeID(t))
			return nil
		}
		e.b = append(e.b, tagKeySlice)
		return e.elems(rv, t, depth)
	case reflect.Array:
		e.b = append(e.b, tagKeyArray)
		return e.elems(rv, t, depth)
	default:
		return fmt.Errorf("%s has no deterministic encoding", describeKind(t))
	}
	return nil
}

func (e *keyEncoder) elems(rv reflect.Value, t reflect.Type, depth int) error {
	e.str(typeID(t))
	e.uvarint(uint64(rv.Len()))
	for i := range rv.Len() {
		if err := e.value(rv.Index(i), nil, depth+1); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

func (e *keyEncoder) bool(v bool) {
	if v {
		e.b = append(e.b, tagKeyTrue)
	} else {
		e.b = append(e.b, tagKeyFalse)
	}
}

func (e *keyEncoder) bytes(v []byte) {
	if v == nil {
		e.b = append(e.b, tagKeyBytesNil)
		return
	}
	e.b = append(e.b, tagKeyBytes)
	e.uvarint(uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *keyEncoder) time(t time.Time) {
	e.b = append(e.b, tagKeyTime)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
	e.str(t.Location().String())
	name, offset := t.Zone()
	e.str(name)
	e.varint(int64(offset))
}

func describeKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map:
		return "a map (iteration order is random)"
	case reflect.Chan:
		return "a channel"
	case reflect.Func:
		return "a function"
	case reflect.Struct:
		return "a struct that is neither a time.Time nor a driver.Valuer"
	case reflect.Complex64, reflect.Complex128:
		return "a complex number"
	case reflect.UnsafePointer, reflect.Uintptr:
		return "an address"
	case reflect.Interface:
		return "an interface"
	}
	return "a " + t.Kind().String()
}

// typeIDs caches typeID.
var typeIDs sync.Map // reflect.Type → string

// typeID names t the same way in every process and build: a named type
// by its package path and name, a composite type by its structure, and
// int and uint as int64 and uint64 (see Key).
func typeID(t reflect.Type) string {
	if id, ok := typeIDs.Load(t); ok {
		return id.(string)
	}
	id := computeTypeID(t)
	typeIDs.Store(t, id)
	return id
}

func computeTypeID(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() != "" {
			return t.PkgPath() + "." + t.Name()
		}
		switch t.Kind() {
		case reflect.Int:
			return "int64"
		case reflect.Uint:
			return "uint64"
		}
		return t.Name() // predeclared: bool, int32, string, error, …
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeID(t.Elem())
	case reflect.Slice:
		return "[]" + typeID(t.Elem())
	case reflect.Array:
		return "[" + strconv.Itoa(t.Len()) + "]" + typeID(t.Elem())
	}
	return t.String() // interface {}, and types Key rejects anyway
}

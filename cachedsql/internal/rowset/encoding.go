package rowset

import (
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"
)

// The binary encoding of a Set, version 1:
//
//	"RS" version(1)
//	uvarint results
//	per result:
//	    uvarint columns
//	    per column: string name, string dbType, byte flags,
//	                [varint length], [varint precision, varint scale]
//	                (as flags say), byte scan type (its index in scanTypes)
//	    uvarint rows, uvarint bytes of its []byte cells
//	    rows×columns cells, row-major: byte tag, then the tag's payload
//
// A [TooLarge] marker is a set of 0 results followed by the limits it was
// over: uvarint rows, uvarint bytes. Strings and byte strings are
// a uvarint length and the bytes; varints
// are zig-zag (encoding/binary's PutVarint). A time is varint Unix
// seconds, uvarint nanoseconds and a location (see location.go).
const (
	magic0, magic1 = 'R', 'S'
	formatVersion  = 1
)

// Column flags. database/sql keeps what a driver's ColumnType method
// returns even when it says the value is absent (ok == false), and so does
// a Set: a value follows when it is not zero, whether or not present.
const (
	flagHasLength         = 1 << iota // the driver gave a length
	flagHasPrecisionScale             // … precision and scale
	flagHasNullable                   // … nullability
	flagNullable                      // the nullability it gave
	flagLength                        // a length follows
	flagPrecisionScale                // precision and scale follow
	allFlags              = 1<<iota - 1
)

// Cell tags: one per Go type of driver value the encoding carries. The
// types past tagTime are not among database/sql's driver.Value types but
// are kept, exactly, for drivers that return them.
const (
	tagNull     = iota // nil
	tagFalse           // bool
	tagTrue            // bool
	tagInt64           // varint
	tagFloat64         // 8 bytes, little-endian IEEE 754 bits (NaN payloads kept)
	tagString          // uvarint length, bytes
	tagBytes           // uvarint length, bytes: a non-nil []byte
	tagBytesNil        // []byte(nil), as opposed to a NULL
	tagTime            // varint seconds, uvarint nanoseconds, location
	tagInt             // varint
	tagInt8            // varint
	tagInt16           // varint
	tagInt32           // varint
	tagUint            // uvarint
	tagUint8           // uvarint
	tagUint16          // uvarint
	tagUint32          // uvarint
	tagUint64          // uvarint
	tagFloat32         // 4 bytes, little-endian IEEE 754 bits
	numTags
)

// MarshalBinary encodes s in a compact, versioned binary form that
// [Decode] reads back exactly, for bytes stores such as Redis. It
// implements encoding.BinaryMarshaler, so that generic serializers (gob,
// CBOR) carry a *Set too.
//
// Every cell value database/sql drivers return is carried exactly: nil,
// int64, float64 (NaN and infinities included), bool, []byte (nil and
// empty kept apart from NULL), string, and time.Time with its instant and
// its location (UTC, Local, a time zone database name, or a fixed zone),
// as well as the other Go integer and float types. A monotonic clock
// reading, which no driver returns, is dropped. A cell of any other type,
// or a column scan type outside the closed set drivers use, makes the
// set uncacheable in bytes: the error wraps [ErrUnsupportedValue] and
// names the column and the Go type.
func (s *Set) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, s.size/2+64))
}

// AppendBinary appends the encoding of s, as [Set.MarshalBinary] makes it,
// to b (encoding.BinaryAppender).
func (s *Set) AppendBinary(b []byte) ([]byte, error) {
	e := encoder{b: b}
	e.b = append(e.b, magic0, magic1, formatVersion)
	e.b = binary.AppendUvarint(e.b, uint64(len(s.results)))
	if len(s.results) == 0 {
		e.b = binary.AppendUvarint(e.b, uint64(max(s.over.MaxRows, 0)))
		e.b = binary.AppendUvarint(e.b, uint64(max(s.over.MaxBytes, 0)))
		return e.b, nil
	}
	for ri := range s.results {
		r := &s.results[ri]
		e.b = binary.AppendUvarint(e.b, uint64(len(r.cols)))
		for ci := range r.cols {
			if err := e.column(&r.cols[ci], ri); err != nil {
				return nil, err
			}
		}
		e.b = binary.AppendUvarint(e.b, uint64(r.rows))
		e.b = binary.AppendUvarint(e.b, uint64(r.byteTotal))
		n := len(r.cols)
		for i, v := range r.values {
			if err := e.cell(v); err != nil {
				c := &r.cols[i%n]
				return nil, fmt.Errorf("%w: column %q (result %d, column %d, row %d) holds a %T: %v; cache this query in memory only, or not at all",
					ErrUnsupportedValue, c.name, ri, i%n, i/n, v, err)
			}
		}
	}
	return e.b, nil
}

// MarshalText encodes s as base64 of [Set.MarshalBinary]
// (encoding.TextMarshaler), so that text serializers such as encoding/json
// carry a *Set whole instead of as an empty object.
func (s *Set) MarshalText() ([]byte, error) {
	b, err := s.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.AppendEncode(nil, b), nil
}

// UnmarshalText decodes what [Set.MarshalText] made into s.
func (s *Set) UnmarshalText(text []byte) error {
	b, err := base64.StdEncoding.AppendDecode(nil, text)
	if err != nil {
		return fmt.Errorf("%w: not base64: %v", ErrMalformed, err)
	}
	return s.UnmarshalBinary(b)
}

// UnmarshalBinary decodes what [Set.MarshalBinary] made into s, replacing
// its contents (encoding.BinaryUnmarshaler). It does not keep data.
func (s *Set) UnmarshalBinary(data []byte) error {
	d, err := Decode(data)
	if err != nil {
		return err
	}
	// All of it, the limits of a too-large marker included: a marker
	// without them would hold under any limits (see TooLargeFor).
	s.results, s.size, s.over = d.results, d.size, d.over
	s.plans.Store(nil)
	return nil
}

// encoder writes one set.
type encoder struct {
	b    []byte
	locs map[*time.Location]int // locations defined so far, by index
}

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) column(c *column, result int) error {
	code, ok := scanTypeCode(c.scanType)
	if !ok {
		return fmt.Errorf("%w: column %q (result %d) has scan type %v, outside the types drivers use; cache this query in memory only, or not at all",
			ErrUnsupportedValue, c.name, result, c.scanType)
	}
	e.str(c.name)
	e.str(c.dbType)
	var flags byte
	if c.hasLength {
		flags |= flagHasLength
	}
	if c.hasPrecisionScale {
		flags |= flagHasPrecisionScale
	}
	if c.hasNullable {
		flags |= flagHasNullable
	}
	if c.nullable {
		flags |= flagNullable
	}
	if c.length != 0 {
		flags |= flagLength
	}
	if c.precision != 0 || c.scale != 0 {
		flags |= flagPrecisionScale
	}
	e.b = append(e.b, flags)
	if flags&flagLength != 0 {
		e.b = binary.AppendVarint(e.b, c.length)
	}
	if flags&flagPrecisionScale != 0 {
		e.b = binary.AppendVarint(e.b, c.precision)
		e.b = binary.AppendVarint(e.b, c.scale)
	}
	e.b = append(e.b, code)
	return nil
}

func (e *encoder) cell(v driver.Value) error {
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, tagNull)
	case bool:
		if v {
			e.b = append(e.b, tagTrue)
		} else {
			e.b = append(e.b, tagFalse)
		}
	case int64:
		e.b = binary.AppendVarint(append(e.b, tagInt64), v)
	case float64:
		e.b = binary.LittleEndian.AppendUint64(append(e.b, tagFloat64), math.Float64bits(v))
	case string:
		e.b = append(e.b, tagString)
		e.str(v)
	case []byte:
		if v == nil {
			e.b = append(e.b, tagBytesNil)
			break
		}
		e.b = binary.AppendUvarint(append(e.b, tagBytes), uint64(len(v)))
		e.b = append(e.b, v...)
	case time.Time:
		return e.time(v)
	case int:
		e.b = binary.AppendVarint(append(e.b, tagInt), int64(v))
	case int8:
		e.b = binary.AppendVarint(append(e.b, tagInt8), int64(v))
	case int16:
		e.b = binary.AppendVarint(append(e.b, tagInt16), int64(v))
	case int32:
		e.b = binary.AppendVarint(append(e.b, tagInt32), int64(v))
	case uint:
		e.b = binary.AppendUvarint(append(e.b, tagUint), uint64(v))
	case uint8:
		e.b = binary.AppendUvarint(append(e.b, tagUint8), uint64(v))
	case uint16:
		e.b = binary.AppendUvarint(append(e.b, tagUint16), uint64(v))
	case uint32:
		e.b = binary.AppendUvarint(append(e.b, tagUint32), uint64(v))
	case uint64:
		e.b = binary.AppendUvarint(append(e.b, tagUint64), v)
	case float32:
		e.b = binary.LittleEndian.AppendUint32(append(e.b, tagFloat32), math.Float32bits(v))
	default:
		return fmt.Errorf("type %s has no binary encoding", reflect.TypeOf(v))
	}
	return nil
}

func (e *encoder) time(t time.Time) error {
	e.b = append(e.b, tagTime)
	e.b = binary.AppendVarint(e.b, t.Unix())
	e.b = binary.AppendUvarint(e.b, uint64(t.Nanosecond()))
	loc := t.Location()
	switch loc {
	case time.UTC:
		e.b = append(e.b, locUTC)
		return nil
	case time.Local:
		e.b = append(e.b, locLocal)
		return nil
	}
	if i, ok := e.locs[loc]; ok {
		e.b = binary.AppendUvarint(append(e.b, locRef), uint64(i))
		return nil
	}
	le, err := classifyLocation(t)
	if err != nil {
		return err
	}
	if e.locs == nil {
		e.locs = make(map[*time.Location]int)
	}
	e.locs[loc] = len(e.locs)
	e.b = append(e.b, le.kind)
	e.str(le.name)
	if le.kind == locFixed {
		e.b = binary.AppendVarint(e.b, int64(le.offset))
	}
	return nil
}

// Decode reads a set encoded by [Set.MarshalBinary]. It does not keep
// data. Bytes that are not such an encoding, of a format version this
// build reads, give an error wrapping [ErrMalformed], never a panic; a
// location name the machine's time zone database lacks is malformed too,
// since the time cannot be rebuilt exactly.
func Decode(data []byte) (*Set, error) {
	d := decoder{data: data}
	s, err := d.set()
	if err != nil {
		return nil, fmt.Errorf("%w: %v (at byte %d of %d)", ErrMalformed, err, d.pos, len(data))
	}
	return s, nil
}

// decoder reads one set. Each result's []byte cells are cut from one
// arena of the exact size the encoding announces (replays copy them again:
// callers never hold it). Strings are allocated one by one, not cut from
// one copy of the input: callers keep strings, and a substring would keep
// the whole input alive.
type decoder struct {
	data  []byte
	pos   int
	arena []byte // for the current result's []byte cells, of the size announced
	locs  []*time.Location
}

func (d *decoder) set() (*Set, error) {
	if len(d.data) < 3 || d.data[0] != magic0 || d.data[1] != magic1 {
		return nil, fmt.Errorf("not an encoded set")
	}
	if v := d.data[2]; v != formatVersion {
		return nil, fmt.Errorf("format version %d, this build reads version %d", v, formatVersion)
	}
	d.pos = 3
	// A result takes three bytes at least (its counts of columns, rows
	// and bytes), and a result in memory some 140: counted as a byte
	// each, a megabyte of corrupt input could allocate 136 MB of results
	// before it ran out.
	nres, err := d.count(3)
	if err != nil {
		return nil, err
	}
	if nres == 0 {
		rows, err := d.limit()
		if err != nil {
			return nil, fmt.Errorf("a too-large marker's row limit: %w", err)
		}
		size, err := d.limit()
		if err != nil {
			return nil, fmt.Errorf("a too-large marker's byte limit: %w", err)
		}
		if d.pos != len(d.data) {
			return nil, fmt.Errorf("%d bytes after a too-large marker", len(d.data)-d.pos)
		}
		return TooLarge(Limits{MaxRows: rows, MaxBytes: size}), nil
	}
	s := &Set{results: make([]result, nres)}
	for ri := range s.results {
		r := &s.results[ri]
		ncols, err := d.count(4) // name, type, flags, scan type
		if err != nil {
			return nil, err
		}
		r.cols = make([]column, ncols)
		r.names = make([]string, ncols)
		for ci := range r.cols {
			if err := d.column(&r.cols[ci]); err != nil {
				return nil, err
			}
			r.names[ci] = r.cols[ci].name
		}
		s.size += columnsSize(r.cols)
		nrows, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if ncols == 0 {
			if nrows > math.MaxInt32 {
				return nil, fmt.Errorf("%d rows without columns", nrows)
			}
		} else if nrows > uint64(len(d.data)-d.pos)/uint64(ncols) { // a cell takes a byte at least
			return nil, fmt.Errorf("%d rows of %d columns in %d bytes", nrows, ncols, len(d.data)-d.pos)
		}
		r.rows = int(nrows)
		byteTotal, err := d.count(1)
		if err != nil {
			return nil, err
		}
		d.arena = make([]byte, byteTotal) // exact: the Set keeps it
		r.values = make([]driver.Value, r.rows*ncols)
		for i := range r.values {
			v, err := d.cell()
			if err != nil {
				return nil, fmt.Errorf("result %d, row %d, column %d: %v", ri, i/ncols, i%ncols, err)
			}
			r.values[i] = v
			s.size += cellSize(v)
			if b, ok := v.([]byte); ok {
				r.byteTotal += len(b)
			}
		}
		if len(d.arena) != 0 {
			return nil, fmt.Errorf("result %d: %d bytes announced for []byte cells that hold %d", ri, byteTotal, r.byteTotal)
		}
		r.index()
	}
	if d.pos != len(d.data) {
		return nil, fmt.Errorf("%d bytes after the set", len(d.data)-d.pos)
	}
	return s, nil
}

func (d *decoder) column(c *column) error {
	var err error
	if c.name, err = d.name(); err != nil {
		return err
	}
	if c.dbType, err = d.name(); err != nil {
		return err
	}
	flags, err := d.byte()
	if err != nil {
		return err
	}
	if flags&^allFlags != 0 {
		return fmt.Errorf("column flags %#x", flags)
	}
	c.hasLength = flags&flagHasLength != 0
	c.hasPrecisionScale = flags&flagHasPrecisionScale != 0
	c.hasNullable = flags&flagHasNullable != 0
	c.nullable = flags&flagNullable != 0
	if flags&flagLength != 0 {
		if c.length, err = d.varint(); err != nil {
			return err
		}
	}
	if flags&flagPrecisionScale != 0 {
		if c.precision, err = d.varint(); err != nil {
			return err
		}
		if c.scale, err = d.varint(); err != nil {
			return err
		}
	}
	code, err := d.byte()
	if err != nil {
		return err
	}
	if int(code) >= len(scanTypes) {
		return fmt.Errorf("scan type code %d", code)
	}
	c.scanType = scanTypes[code]
	return nil
}

func (d *decoder) cell() (driver.Value, error) {
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagNull:
		return nil, nil
	case tagFalse:
		return false, nil
	case tagTrue:
		return true, nil
	case tagInt64:
		return d.varint()
	case tagFloat64:
		if len(d.data)-d.pos < 8 {
			return nil, errTruncated
		}
		bits := binary.LittleEndian.Uint64(d.data[d.pos:])
		d.pos += 8
		return math.Float64frombits(bits), nil
	case tagString:
		return d.str()
	case tagBytes:
		return d.bytes()
	case tagBytesNil:
		return []byte(nil), nil
	case tagTime:
		return d.time()
	case tagInt, tagInt8, tagInt16, tagInt32:
		v, err := d.varint()
		if err != nil {
			return nil, err
		}
		return narrowInt(tag, v)
	case tagUint, tagUint8, tagUint16, tagUint32, tagUint64:
		v, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		return narrowUint(tag, v)
	case tagFloat32:
		if len(d.data)-d.pos < 4 {
			return nil, errTruncated
		}
		bits := binary.LittleEndian.Uint32(d.data[d.pos:])
		d.pos += 4
		return math.Float32frombits(bits), nil
	}
	return nil, fmt.Errorf("cell tag %d", tag)
}

func narrowInt(tag byte, v int64) (driver.Value, error) {
	switch tag {
	case tagInt:
		if int64(int(v)) == v {
			return int(v), nil
		}
	case tagInt8:
		if v >= math.MinInt8 && v <= math.MaxInt8 {
			return int8(v), nil
		}
	case tagInt16:
		if v >= math.MinInt16 && v <= math.MaxInt16 {
			return int16(v), nil
		}
	case tagInt32:
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return int32(v), nil
		}
	}
	return nil, fmt.Errorf("integer %d out of range for tag %d", v, tag)
}

func narrowUint(tag byte, v uint64) (driver.Value, error) {
	switch tag {
	case tagUint:
		if uint64(uint(v)) == v {
			return uint(v), nil
		}
	case tagUint8:
		if v <= math.MaxUint8 {
			return uint8(v), nil
		}
	case tagUint16:
		if v <= math.MaxUint16 {
			return uint16(v), nil
		}
	case tagUint32:
		if v <= math.MaxUint32 {
			return uint32(v), nil
		}
	case tagUint64:
		return v, nil
	}
	return nil, fmt.Errorf("integer %d out of range for tag %d", v, tag)
}

func (d *decoder) time() (driver.Value, error) {
	sec, err := d.varint()
	if err != nil {
		return nil, err
	}
	nsec, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if nsec >= 1e9 {
		return nil, fmt.Errorf("%d nanoseconds", nsec)
	}
	t := time.Unix(sec, int64(nsec)) // in Local
	kind, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch kind {
	case locUTC:
		return t.UTC(), nil
	case locLocal:
		return t, nil
	case locRef:
		i, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if i >= uint64(len(d.locs)) {
			return nil, fmt.Errorf("location %d of %d", i, len(d.locs))
		}
		return t.In(d.locs[i]), nil
	case locNamed:
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		loc := locations.load(name)
		if loc == nil {
			return nil, fmt.Errorf("time zone %q is not in this machine's time zone database", name)
		}
		d.locs = append(d.locs, loc)
		return t.In(loc), nil
	case locFixed:
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		offset, err := d.varint()
		if err != nil {
			return nil, err
		}
		if offset < -24*3600 || offset > 24*3600 {
			return nil, fmt.Errorf("zone offset %d", offset)
		}
		loc := locations.fixedZone(name, int(offset))
		d.locs = append(d.locs, loc)
		return t.In(loc), nil
	}
	return nil, fmt.Errorf("location kind %d", kind)
}

var errTruncated = fmt.Errorf("truncated")

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, errTruncated
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("bad uvarint")
	}
	d.pos += n
	return v, nil
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.data[d.pos:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint")
	}
	d.pos += n
	return v, nil
}

// count reads a count of items that each take at least min bytes, and
// checks that the rest of the input can hold them.
func (d *decoder) count(min int) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(len(d.data)-d.pos)/uint64(min) {
		return 0, fmt.Errorf("count %d in %d bytes", v, len(d.data)-d.pos)
	}
	return int(v), nil
}

// limit reads a limit of a too-large marker, which fits an int.
func (d *decoder) limit() (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt {
		return 0, fmt.Errorf("limit %d out of range", v)
	}
	return int(v), nil
}

// span reads a length and returns the bounds of that many bytes.
func (d *decoder) span() (int, int, error) {
	n, err := d.count(1)
	if err != nil {
		return 0, 0, err
	}
	start := d.pos
	d.pos += n
	return start, d.pos, nil
}

func (d *decoder) str() (string, error) {
	start, end, err := d.span()
	if err != nil || start == end {
		return "", err
	}
	return string(d.data[start:end]), nil
}

// name reads a column's name or type name, interned: a program's queries
// have a few of each, decoded again on every hit.
func (d *decoder) name() (string, error) {
	start, end, err := d.span()
	if err != nil {
		return "", err
	}
	return names.intern(d.data[start:end]), nil
}

// nameCache interns short strings, up to a bound. It is safe for
// concurrent use by multiple goroutines.
type nameCache struct {
	mu sync.Mutex
	m  map[string]string
}

var names = nameCache{m: make(map[string]string)}

const (
	maxInterned    = 4096 // names kept
	maxInternedLen = 64   // bytes in a name kept
)

func (c *nameCache) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInternedLen {
		return string(b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(c.m) < maxInterned {
		c.m[s] = s
	}
	return s
}

func (d *decoder) bytes() ([]byte, error) {
	start, end, err := d.span()
	if err != nil {
		return nil, err
	}
	n := end - start
	if n == 0 {
		return []byte{}, nil
	}
	if len(d.arena) < n {
		return nil, fmt.Errorf("[]byte cells longer than the %d bytes announced", len(d.arena))
	}
	b := d.arena[:n:n]
	d.arena = d.arena[n:]
	copy(b, d.data[start:end])
	return b, nil
}

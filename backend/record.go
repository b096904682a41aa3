package backend

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// The record layout that bytes stores persist (see [MarshalRecord]):
//
//	offset size
//	0      1    magic 0xD9
//	1      1    layout version (recordLayout)
//	2      1    flags (none defined yet; a record with unknown flags is not read)
//	3      2    Metadata.Version, big endian
//	5      8    Metadata.Created, Unix nanoseconds, big endian (MinInt64: zero time)
//	13     …    payload (Entry.Data)
const (
	recordMagic  = 0xD9
	recordLayout = 1
	recordHeader = 13
	zeroTimeNano = math.MinInt64
)

// MarshalRecord encodes e's Data and Meta as one byte slice for a bytes
// store, in a compact layout that carries its own format version.
func MarshalRecord(e Entry) []byte {
	return AppendRecord(make([]byte, 0, recordHeader+len(e.Data)), e)
}

// AppendRecord appends the record of e (see [MarshalRecord]) to dst.
func AppendRecord(dst []byte, e Entry) []byte {
	created := int64(zeroTimeNano)
	if !e.Meta.Created.IsZero() {
		created = e.Meta.Created.UnixNano()
	}
	dst = append(dst, recordMagic, recordLayout, 0)
	dst = binary.BigEndian.AppendUint16(dst, e.Meta.Version)
	dst = binary.BigEndian.AppendUint64(dst, uint64(created))
	return append(dst, e.Data...)
}

// UnmarshalRecord decodes a record made by [MarshalRecord]. The returned
// Entry's Data shares memory with data. Bytes of another layout version,
// or that are not a record at all, give an error wrapping [ErrBadRecord];
// stores report such a key as missing.
func UnmarshalRecord(data []byte) (Entry, error) {
	if len(data) < recordHeader {
		return Entry{}, fmt.Errorf("%w: %d bytes is shorter than a record header", ErrBadRecord, len(data))
	}
	if data[0] != recordMagic {
		return Entry{}, fmt.Errorf("%w: first byte is %#x, not %#x", ErrBadRecord, data[0], recordMagic)
	}
	if data[1] != recordLayout {
		return Entry{}, fmt.Errorf("%w: layout version %d, this build reads %d", ErrBadRecord, data[1], recordLayout)
	}
	if data[2] != 0 {
		return Entry{}, fmt.Errorf("%w: unknown flags %#x", ErrBadRecord, data[2])
	}
	var e Entry
	e.Meta.Version = binary.BigEndian.Uint16(data[3:5])
	if n := int64(binary.BigEndian.Uint64(data[5:13])); n != zeroTimeNano {
		e.Meta.Created = time.Unix(0, n)
	}
	e.Data = data[recordHeader:]
	return e, nil
}

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
//	2      1    flags: 0x01 tags follow the header; a record with unknown flags is not read
//	3      2    Metadata.Version, big endian
//	5      8    Metadata.Created, Unix nanoseconds, big endian (MinInt64: zero time)
//	13     …    with flag 0x01: uvarint count, then per tag uvarint length, the
//	            tag's bytes, uvarint version
//	…      …    payload (Entry.Data)
const (
	recordMagic  = 0xD9
	recordLayout = 1
	recordHeader = 13
	zeroTimeNano = math.MinInt64
	flagTags     = 0x01
	// maxRecordTags bounds the tag count a record may claim, so that a
	// corrupt count cannot make the decoder allocate without bound.
	maxRecordTags = 1 << 16
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
	var flags byte
	if len(e.Meta.Tags) > 0 {
		flags |= flagTags
	}
	dst = append(dst, recordMagic, recordLayout, flags)
	dst = binary.BigEndian.AppendUint16(dst, e.Meta.Version)
	dst = binary.BigEndian.AppendUint64(dst, uint64(created))
	if flags&flagTags != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(e.Meta.Tags)))
		for _, tv := range e.Meta.Tags {
			dst = binary.AppendUvarint(dst, uint64(len(tv.Tag)))
			dst = append(dst, tv.Tag...)
			dst = binary.AppendUvarint(dst, tv.Version)
		}
	}
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
	flags := data[2]
	if flags&^flagTags != 0 {
		return Entry{}, fmt.Errorf("%w: unknown flags %#x", ErrBadRecord, flags)
	}
	var e Entry
	e.Meta.Version = binary.BigEndian.Uint16(data[3:5])
	if n := int64(binary.BigEndian.Uint64(data[5:13])); n != zeroTimeNano {
		e.Meta.Created = time.Unix(0, n)
	}
	rest := data[recordHeader:]
	if flags&flagTags != 0 {
		var err error
		if e.Meta.Tags, rest, err = readTags(rest); err != nil {
			return Entry{}, err
		}
	}
	e.Data = rest
	return e, nil
}

func readTags(b []byte) ([]TagVersion, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n == 0 || n > maxRecordTags {
		return nil, nil, fmt.Errorf("%w: bad tag count", ErrBadRecord)
	}
	b = b[w:]
	tags := make([]TagVersion, 0, min(n, uint64(len(b))))
	for range n {
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, nil, fmt.Errorf("%w: bad tag length", ErrBadRecord)
		}
		tag := string(b[w : w+int(l)])
		b = b[w+int(l):]
		v, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, nil, fmt.Errorf("%w: bad tag version", ErrBadRecord)
		}
		b = b[w:]
		tags = append(tags, TagVersion{Tag: tag, Version: v})
	}
	return tags, b, nil
}

// Package tagmarks encodes a tag's pending marks — the owners that hold it
// and when each one's lease ends — for the stores that keep them as one
// value (memcached, file), and edits them.
package tagmarks

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// The encoding of a tag's marks:
//
//	offset size
//	0      1    layout version (layout)
//	then, per owner:
//	       8    end of the lease, Unix nanoseconds, big endian
//	       …    uvarint length of the owner, then its bytes
const layout = 1

// Mark is one owner's hold on a tag.
type Mark struct {
	Owner string
	End   time.Time
}

// Marks is a tag's pending marks, at most one per owner.
type Marks []Mark

// ErrBad is returned by Decode for bytes that are not marks of a known
// layout.
var ErrBad = errors.New("not pending marks of a known layout")

// Decode reads marks encoded by [Marks.Encode].
func Decode(b []byte) (Marks, error) {
	if len(b) == 0 || b[0] != layout {
		return nil, ErrBad
	}
	b = b[1:]
	var m Marks
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, ErrBad
		}
		end := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, ErrBad
		}
		m = append(m, Mark{Owner: string(b[w : w+int(n)]), End: time.Unix(0, end)})
		b = b[w+int(n):]
	}
	return m, nil
}

// Encode returns the marks as bytes.
func (m Marks) Encode() []byte {
	b := []byte{layout}
	for _, mk := range m {
		end := int64(math.MaxInt64) // clamp: past 2262 UnixNano overflows
		if mk.End.Before(time.Unix(0, math.MaxInt64)) {
			end = mk.End.UnixNano()
		}
		b = binary.BigEndian.AppendUint64(b, uint64(end))
		b = binary.AppendUvarint(b, uint64(len(mk.Owner)))
		b = append(b, mk.Owner...)
	}
	return b
}

// Live returns the marks whose lease has not ended by now, reusing m.
func (m Marks) Live(now time.Time) Marks {
	out := m[:0]
	for _, mk := range m {
		if now.Before(mk.End) {
			out = append(out, mk)
		}
	}
	return out
}

// Pending reports whether any owner's lease is still running at now.
func (m Marks) Pending(now time.Time) bool {
	for _, mk := range m {
		if now.Before(mk.End) {
			return true
		}
	}
	return false
}

// With returns m with owner's lease ending at end (replacing any it had).
func (m Marks) With(owner string, end time.Time) Marks {
	for i := range m {
		if m[i].Owner == owner {
			m[i].End = end
			return m
		}
	}
	return append(m, Mark{Owner: owner, End: end})
}

// Without returns m less owner's mark, and whether it had one.
func (m Marks) Without(owner string) (Marks, bool) {
	for i := range m {
		if m[i].Owner == owner {
			return append(m[:i], m[i+1:]...), true
		}
	}
	return m, false
}

// Longest is how long the last of m's leases still runs at now.
func (m Marks) Longest(now time.Time) time.Duration {
	var d time.Duration
	for _, mk := range m {
		d = max(d, mk.End.Sub(now))
	}
	return d
}

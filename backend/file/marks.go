package file

import (
	"encoding/binary"
	"errors"
	"time"
)

// The value of a tag's marks record: the owners that hold the tag pending
// and when each one's lease ends, by the store's [Options.Clock].
//
//	offset size
//	0      1    layout version (marksLayout)
//	then, per owner:
//	       8    end of the lease, Unix nanoseconds, big endian
//	       …    uvarint length of the owner, then its bytes
const marksLayout = 1

// mark is one owner's hold on a tag.
type mark struct {
	owner string
	end   time.Time
}

// marks is a tag's pending marks, at most one per owner.
type marks []mark

var errBadMarks = errors.New("not pending marks of a known layout")

func decodeMarks(b []byte) (marks, error) {
	if len(b) == 0 || b[0] != marksLayout {
		return nil, errBadMarks
	}
	b = b[1:]
	var m marks
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, errBadMarks
		}
		end := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, errBadMarks
		}
		m = append(m, mark{owner: string(b[w : w+int(n)]), end: time.Unix(0, end)})
		b = b[w+int(n):]
	}
	return m, nil
}

func (m marks) encode() []byte {
	b := []byte{marksLayout}
	for _, mk := range m {
		b = binary.BigEndian.AppendUint64(b, uint64(mk.end.UnixNano()))
		b = binary.AppendUvarint(b, uint64(len(mk.owner)))
		b = append(b, mk.owner...)
	}
	return b
}

// live returns the marks whose lease has not ended by now, reusing m.
func (m marks) live(now time.Time) marks {
	out := m[:0]
	for _, mk := range m {
		if now.Before(mk.end) {
			out = append(out, mk)
		}
	}
	return out
}

// pending reports whether any owner's lease is still running at now.
func (m marks) pending(now time.Time) bool {
	for _, mk := range m {
		if now.Before(mk.end) {
			return true
		}
	}
	return false
}

// with returns m with owner's lease ending at end (replacing any it had).
func (m marks) with(owner string, end time.Time) marks {
	for i := range m {
		if m[i].owner == owner {
			m[i].end = end
			return m
		}
	}
	return append(m, mark{owner: owner, end: end})
}

// without returns m less owner's mark, and whether it had one.
func (m marks) without(owner string) (marks, bool) {
	for i := range m {
		if m[i].owner == owner {
			return append(m[:i], m[i+1:]...), true
		}
	}
	return m, false
}

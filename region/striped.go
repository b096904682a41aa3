package region

import (
	"sync/atomic"
	"unsafe"
)

// striped is a counter spread over cache lines, so that cores counting at
// once rarely touch the same line: the hit counter is bumped on every hit,
// and one shared line would make hits on two cores several times slower.
//
// An increment picks its cell by hashing the address of its goroutine's
// stack with a salt: one goroutine keeps to one cell, which stays in its
// core's cache, and the choice costs no more than a multiply. Two goroutines
// that share a cell and count at once notice it, because the compare-and-swap
// of one of them fails; that one moves the salt, which deals every
// goroutine a new cell, and the pair most likely parts. (A per-P token from
// a sync.Pool, as xsync's Counter uses, parts them as surely but costs
// about 10ns a hit, a third of a whole hit on the memory backend.)
type striped struct {
	salt  atomic.Uint64
	_     [cellSize - 8]byte
	cells [stripes]struct {
		n atomic.Int64
		_ [cellSize - 8]byte
	}
}

const (
	stripeBits = 5
	stripes    = 1 << stripeBits
	// cellSize keeps any two counters out of one 64-byte line and out of
	// the pair of lines that x86 prefetches together, whatever the
	// alignment of the struct.
	cellSize = 128
)

func (s *striped) inc() {
	var marker byte
	// The address is only read, never kept: marker stays on the stack.
	h := uint64(uintptr(unsafe.Pointer(&marker))>>10) ^ s.salt.Load()
	c := &s.cells[(h*0x9E3779B97F4A7C15)>>(64-stripeBits)].n
	n := c.Load()
	if !c.CompareAndSwap(n, n+1) {
		c.Add(1)
		s.salt.Add(1)
	}
}

func (s *striped) value() int64 {
	var sum int64
	for i := range s.cells {
		sum += s.cells[i].n.Load()
	}
	return sum
}

package tiered

import (
	"encoding/binary"
	"errors"
)

// An invalidation message, as published on the channel:
//
//	offset size
//	0      1    magic 0xD7
//	1      1    kind: 'k' keys were written or deleted, 't' tags changed
//	2      16   the sender's id (a process ignores its own messages)
//	18     …    uvarint count, then per item uvarint length and its bytes
//
// Keys and tags are arbitrary bytes, so they are length-prefixed rather
// than separated.
const (
	messageMagic  = 0xD7
	kindKeys      = 'k'
	kindTags      = 't'
	idLen         = 16
	messageHeader = 2 + idLen
	// maxMessageItems bounds the count a message may claim, so a corrupt
	// count cannot make the decoder allocate without bound.
	maxMessageItems = 1 << 20
)

var errBadMessage = errors.New("tiered: not an invalidation message")

// message is a decoded invalidation message.
type message struct {
	kind   byte
	sender [idLen]byte
	items  []string
}

// appendMessage encodes a message of kind from sender about items.
func appendMessage(dst []byte, kind byte, sender [idLen]byte, items []string) []byte {
	dst = append(dst, messageMagic, kind)
	dst = append(dst, sender[:]...)
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	for _, it := range items {
		dst = binary.AppendUvarint(dst, uint64(len(it)))
		dst = append(dst, it...)
	}
	return dst
}

// parseMessage decodes a message made by appendMessage.
func parseMessage(b string) (message, error) {
	var m message
	if len(b) < messageHeader || b[0] != messageMagic || (b[1] != kindKeys && b[1] != kindTags) {
		return m, errBadMessage
	}
	m.kind = b[1]
	copy(m.sender[:], b[2:messageHeader])
	rest := b[messageHeader:]
	n, w := uvarint(rest)
	if w <= 0 || n > maxMessageItems {
		return m, errBadMessage
	}
	rest = rest[w:]
	m.items = make([]string, 0, min(n, uint64(len(rest))))
	for range n {
		l, w := uvarint(rest)
		if w <= 0 || l > uint64(len(rest)-w) {
			return m, errBadMessage
		}
		m.items = append(m.items, rest[w:w+int(l)])
		rest = rest[w+int(l):]
	}
	if len(rest) != 0 {
		return m, errBadMessage
	}
	return m, nil
}

// uvarint is binary.Uvarint on a string, so that parsing a payload go-redis
// hands over as a string copies nothing but the items.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

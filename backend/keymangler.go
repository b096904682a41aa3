package backend

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// KeyMangler rewrites a key before it reaches a store, to fit the store's
// limits (memcached's 250 bytes, file names) or to hide it.
type KeyMangler func(key string) string

// KeyMangling is implemented by stores that need their keys rewritten.
// KeyMangler returns the mangler a region uses unless it names its own; nil
// means keys are used as they are.
//
// Without it, keys reach the store unchanged.
type KeyMangling interface {
	KeyMangler() KeyMangler
}

// KeyManglerOf returns the key mangler b recommends, or nil.
func KeyManglerOf(b Backend) KeyMangler {
	if m, ok := b.(KeyMangling); ok {
		return m.KeyMangler()
	}
	return nil
}

// SHA1KeyMangler replaces a key by the hex SHA-1 of its bytes: 40 bytes
// whatever the key's length (dogpile's sha1_mangle_key).
func SHA1KeyMangler(key string) string {
	sum := sha1.Sum([]byte(key))
	return hex.EncodeToString(sum[:])
}

// LengthLimitedKeyMangler returns a mangler that keeps keys of at most max
// bytes made only of printable ASCII without spaces, and replaces any other
// key by prefix + its hex SHA-1 (used where a store limits key length and
// alphabet, as memcached does).
func LengthLimitedKeyMangler(max int, prefix string) KeyMangler {
	return func(key string) string {
		if len(key) <= max && plainASCII(key) && (prefix == "" || !strings.HasPrefix(key, prefix)) {
			return key
		}
		return prefix + SHA1KeyMangler(key)
	}
}

func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

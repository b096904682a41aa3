package backend

import "io"

// Close releases what b holds (connections, goroutines, files) when b is an
// [io.Closer], and does nothing otherwise.
func Close(b Backend) error {
	if c, ok := b.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

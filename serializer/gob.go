package serializer

import (
	"bytes"
	"encoding/gob"
)

// Gob encodes values with encoding/gob. Each value is encoded on its own,
// with its type description, so it suits few large values better than many
// small ones.
//
// Gob does not send a struct's zero fields, and flattens pointers: a
// field that points to a zero value (a *bool false, a *int 0, a *string
// "") comes back nil, as if NULL; an empty slice or map comes back nil,
// in a field or not; and a -0.0 field comes back 0. Values whose zero and
// absent differ are better cached with [CBOR].
var Gob gobSerializer

type gobSerializer struct{}

func (gobSerializer) Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (gobSerializer) Unmarshal(data []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(data)).Decode(v)
}

func (gobSerializer) String() string { return "gob" }

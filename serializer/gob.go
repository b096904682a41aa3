package serializer

import (
	"bytes"
	"encoding/gob"
)

// Gob encodes values with encoding/gob. Each value is encoded on its own,
// with its type description, so it suits few large values better than many
// small ones.
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

package serializer

import "encoding/json"

// JSON encodes values with encoding/json: readable, portable across
// languages, and slower and larger than the binary serializers.
var JSON jsonSerializer

type jsonSerializer struct{}

func (jsonSerializer) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonSerializer) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonSerializer) String() string                     { return "json" }

package serializer

import "encoding/json"

// JSON encodes values with encoding/json: readable, portable across
// languages, and slower and larger than the binary serializers. As with
// encoding/json anywhere, bytes of a string that are not UTF-8 come back
// as U+FFFD, and times with the precision RFC 3339 gives them.
var JSON jsonSerializer

type jsonSerializer struct{}

func (jsonSerializer) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonSerializer) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonSerializer) String() string                     { return "json" }

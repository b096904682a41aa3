package serializer

import (
	"github.com/fxamacker/cbor/v2"
)

// CBOR encodes values as CBOR (RFC 8949) with fxamacker/cbor: the default,
// chosen by measurement against encoding/json, encoding/gob and msgpack
// (bench/serializer_test.go): the fastest round trip and the smallest
// encoding of the four on typical records and pages of records. Times keep
// their nanoseconds (RFC 3339 with a time tag) and come back in UTC.
// Strings come back byte for byte, valid UTF-8 or not, as Go keeps them.
var CBOR cborSerializer

type cborSerializer struct{}

var (
	cborEnc = func() cbor.EncMode {
		m, err := cbor.EncOptions{Time: cbor.TimeRFC3339Nano, TimeTag: cbor.EncTagRequired}.EncMode()
		if err != nil {
			panic(err) // static options: cannot fail
		}
		return m
	}()
	cborDec = func() cbor.DecMode {
		// A Go string may hold any bytes, and is encoded as a text string
		// whatever they are: decoding must take them back as they are.
		m, err := cbor.DecOptions{UTF8: cbor.UTF8DecodeInvalid}.DecMode()
		if err != nil {
			panic(err) // static options: cannot fail
		}
		return m
	}()
)

func (cborSerializer) Marshal(v any) ([]byte, error)      { return cborEnc.Marshal(v) }
func (cborSerializer) Unmarshal(data []byte, v any) error { return cborDec.Unmarshal(data, v) }
func (cborSerializer) String() string                     { return "cbor" }

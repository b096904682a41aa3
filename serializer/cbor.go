package serializer

import (
	"math"

	"github.com/fxamacker/cbor/v2"
)

// CBOR encodes values as CBOR (RFC 8949) with fxamacker/cbor: the default,
// chosen by measurement against encoding/json, encoding/gob and msgpack
// (bench/serializer_test.go): the fastest round trip and the smallest
// encoding of the four on typical records and pages of records. Times keep
// their instant, nanoseconds included, and their offset from UTC (RFC 3339
// with a time tag), not their zone: they come back in UTC, in Local when
// the offset is Local's at that instant, or in a fixed zone otherwise.
// Years before 0 or after 9999 cannot be encoded.
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
		// The encoder has no limit on lengths or nesting, so the decoder
		// takes the largest it can: with fxamacker's defaults (131,072
		// elements or pairs, 32 levels), a page of 200,000 IDs or a deep
		// tree would encode and then fail to decode on every read. The
		// limits guard nothing here: Unmarshal checks that the data is
		// well-formed, every element present, before it allocates.
		m, err := cbor.DecOptions{
			UTF8:             cbor.UTF8DecodeInvalid,
			MaxArrayElements: math.MaxInt32,
			MaxMapPairs:      math.MaxInt32,
			MaxNestedLevels:  65535,
		}.DecMode()
		if err != nil {
			panic(err) // static options: cannot fail
		}
		return m
	}()
)

func (cborSerializer) Marshal(v any) ([]byte, error)      { return cborEnc.Marshal(v) }
func (cborSerializer) Unmarshal(data []byte, v any) error { return cborDec.Unmarshal(data, v) }
func (cborSerializer) String() string                     { return "cbor" }

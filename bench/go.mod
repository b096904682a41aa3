module github.com/dogpile-go/dogpile/bench

go 1.26.0

replace github.com/dogpile-go/dogpile => ../

require (
	github.com/dogpile-go/dogpile v0.0.0-00010101000000-000000000000
	github.com/maypok86/otter/v2 v2.4.0
	github.com/viccon/sturdyc v1.1.5
)

require (
	github.com/alitto/pond/v2 v2.7.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/puzpuzpuz/xsync/v4 v4.5.0 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
)

// Package bench holds the comparison benchmarks of dogpile for Go against
// its peers. It is its own module so that the core's go.mod stays free of
// the peers it is measured against.
//
//	cd bench && go test -run '^$' -bench . -benchmem -cpu 2
package bench

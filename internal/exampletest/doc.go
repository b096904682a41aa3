// Package exampletest checks that the programs under examples/ print what
// their package doc comments say they print. It is imported by their tests
// only.
package exampletest

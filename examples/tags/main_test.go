package main

import (
	"testing"

	"github.com/dogpile-go/dogpile/internal/exampletest"
)

// TestDocumentedOutput runs the example and checks that it prints what
// its doc comment says.
func TestDocumentedOutput(t *testing.T) {
	exampletest.Check(t, run)
}

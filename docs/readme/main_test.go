package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestReadmeOptionsAreCurrent fails when a program's options changed and
// `make readme` was not run.
func TestReadmeOptionsAreCurrent(t *testing.T) {
	root := testenv.Root()
	options, err := Options(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Splice(string(readme), options)
	if err != nil {
		t.Fatal(err)
	}
	if want != string(readme) {
		t.Error("README.md's option reference is stale: run `make readme`")
	}
}

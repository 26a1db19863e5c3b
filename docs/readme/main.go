// Command readme rewrites the option reference in README.md from the --help
// of each program, so the README cannot fall behind the code. `make readme`
// runs it; a test in this folder fails when the README is stale.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	begin = "<!-- options:begin -->"
	end   = "<!-- options:end -->"
)

// Programs whose options the README lists, in order.
var Programs = []string{"enroll", "gate", "admin"}

// Options builds each program into dir and returns the markdown section.
func Options(root, dir string) (string, error) {
	var b strings.Builder
	for _, p := range Programs {
		bin := filepath.Join(dir, p)
		build := exec.Command("go", "build", "-o", bin, "./"+p)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", p, err, out)
		}
		help := exec.Command(bin, "--help")
		var out bytes.Buffer
		help.Stdout, help.Stderr = &out, &out
		if err := help.Run(); err != nil {
			return "", fmt.Errorf("%s --help: %v", p, err)
		}
		fmt.Fprintf(&b, "\n### %s\n\n```\n%s```\n", p, out.String())
	}
	return b.String(), nil
}

// Splice replaces what stands between the markers in readme.
func Splice(readme, options string) (string, error) {
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("README.md lacks the %s … %s markers", begin, end)
	}
	return readme[:i+len(begin)] + "\n" + options + "\n" + readme[j:], nil
}

func main() {
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "readme-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	options, err := Options(root, dir)
	if err != nil {
		fail(err)
	}
	path := filepath.Join(root, "README.md")
	old, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	updated, err := Splice(string(old), options)
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		fail(err)
	}
	fmt.Println("readme: options written to README.md")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "readme:", err)
	os.Exit(1)
}

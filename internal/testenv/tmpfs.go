package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// OnTmpfs returns a command line that runs argv with a tmpfs of size (as
// mount takes it: "2m") mounted at dir, in a mount namespace of its own: no
// privilege is needed and nothing outside sees the mount. The test reaches
// the tmpfs through the process's /proc/<pid>/root (see Fill). setup, when
// not empty, is a shell command run first, with the tmpfs mounted and dir
// as $0. It skips the test where unprivileged user and mount namespaces are
// not allowed; say in skip what covers the case there.
func OnTmpfs(t testing.TB, dir, size, setup, skip string, argv ...string) []string {
	t.Helper()
	probe := exec.Command("unshare", "-rm", "sh", "-c", `mount -t tmpfs -o size=64k tmpfs "$0"`, t.TempDir())
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs without privileges here (unshare -rm: %v %s); %s", err, out, skip)
	}
	script := `mount -t tmpfs -o size="$1" tmpfs "$0" && shift`
	if setup != "" {
		script += " && " + setup
	}
	script += ` && exec "$@"`
	return append([]string{"unshare", "-rm", "sh", "-c", script, dir, size}, argv...)
}

// Fill fills the tmpfs at dir, as process pid sees it, with a file, and
// returns the file's path (removing it makes room again). It fails the test
// unless the write stops for want of space.
func Fill(t testing.TB, pid int, dir string) string {
	t.Helper()
	path := filepath.Join(fmt.Sprintf("/proc/%d/root", pid), dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for err == nil {
		_, err = f.Write(make([]byte, 64<<10))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs at %s: %v", dir, err)
	}
	return path
}

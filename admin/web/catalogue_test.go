package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/admin/i18n"
	"github.com/scenicgate/scenicgate/admin/service"
)

// keyUse finds catalogue keys passed to T in templates ({{.L.T "key"}}) and
// in Go code (l.T("key")).
var keyUse = regexp.MustCompile(`\.T[ (]"([a-z_]+\.[a-z_.]+)"`)

func TestEveryKeyUsedExists(t *testing.T) {
	files := map[string][]byte{}
	fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[path], _ = templateFS.ReadFile(path)
		}
		return err
	})
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		files[f], _ = os.ReadFile(f)
	}
	used := 0
	for name, b := range files {
		for _, m := range keyUse.FindAllSubmatch(b, -1) {
			used++
			key := string(m[1])
			if strings.HasSuffix(key, "_") || strings.HasSuffix(key, ".") {
				continue // the start of a key built at run time; checked below
			}
			if !i18n.Has(key) {
				t.Errorf("%s uses %q, which the catalogue lacks", name, m[1])
			}
		}
	}
	if used < 100 {
		t.Errorf("found only %d uses of catalogue keys; the pattern no longer matches the code", used)
	}
	for _, p := range problems {
		if !i18n.Has(p.key) {
			t.Errorf("error %v is shown as %q, which the catalogue lacks", p.err, p.key)
		}
	}
	for kind := range service.CommandKinds {
		if !i18n.Has("gates.sent_" + kind) {
			t.Errorf("command %q has no confirmation message", kind)
		}
	}
	for _, a := range service.AuditActions() {
		if !i18n.Has("action." + a) {
			t.Errorf("audit action %q has no name", a)
		}
	}
}

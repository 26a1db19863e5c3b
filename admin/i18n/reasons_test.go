package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// emittedReasons reads the project's Go source and returns every constant
// declared with the type rules.Reason (Reason inside package rules), with
// where it is declared. Gates add reasons of their own beside the ticket
// rules' (offline_policy, invalid_qr, ...), so the list is taken from the
// declarations rather than from rules.Reasons.
func emittedReasons(t *testing.T) map[string]string {
	t.Helper()
	root := testenv.Root()
	found := map[string]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "var" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if !isReasonType(vs.Type, f.Name.Name) {
					continue
				}
				for i, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: reason %s is not a string literal; the test cannot read it", fset.Position(v.Pos()), vs.Names[i])
						continue
					}
					code, _ := strconv.Unquote(lit.Value)
					rel, _ := filepath.Rel(root, fset.Position(v.Pos()).Filename)
					found[code] = rel + " " + vs.Names[i].Name
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// isReasonType reports whether a constant's declared type is rules.Reason.
func isReasonType(typ ast.Expr, pkg string) bool {
	switch x := typ.(type) {
	case *ast.Ident:
		return pkg == "rules" && x.Name == "Reason"
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "rules" && x.Sel.Name == "Reason"
	}
	return false
}

func TestEveryReasonHasATranslation(t *testing.T) {
	reasons := emittedReasons(t)
	// The scan must at least see the rules' own reasons and the gate's.
	for _, r := range rules.Reasons() {
		if _, ok := reasons[string(r)]; !ok {
			t.Errorf("the source scan missed rules reason %q; it no longer finds the declarations", r)
		}
	}
	if len(reasons) <= len(rules.Reasons()) {
		t.Errorf("the source scan found %d reasons; want the gate's own beside the %d of the rules", len(reasons), len(rules.Reasons()))
	}
	codes := make([]string, 0, len(reasons))
	for code := range reasons {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, lang := range Codes() {
		l := Get(lang)
		for _, code := range codes {
			if _, ok := l.msgs["reason."+code]; !ok {
				t.Errorf("%s lacks reason.%s (declared as %s)", lang, code, reasons[code])
			}
		}
	}
	t.Logf("reasons: %v", codes)
}

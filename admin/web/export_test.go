package web

import "testing"

func TestCellNeutralisesFormulas(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"},
		{"+86 138 0000 1234", "'+86 138 0000 1234"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"王小明", "王小明"},
		{"a=b", "a=b"},
		{"north-1", "north-1"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

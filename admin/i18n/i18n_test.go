package i18n

import (
	"regexp"
	"slices"
	"testing"
)

var verb = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)

func TestCataloguesMatch(t *testing.T) {
	base := Keys(Default)
	if len(base) == 0 {
		t.Fatal("the default catalogue is empty")
	}
	for _, code := range Codes() {
		t.Run(code, func(t *testing.T) {
			keys := Keys(code)
			for _, k := range base {
				if !slices.Contains(keys, k) {
					t.Errorf("%s lacks %q", code, k)
				}
			}
			for _, k := range keys {
				if !slices.Contains(base, k) {
					t.Errorf("%s has %q, which %s lacks", code, k, Default)
				}
				if got, want := verb.FindAllString(catalogues[code][k], -1), verb.FindAllString(catalogues[Default][k], -1); !slices.Equal(got, want) {
					t.Errorf("%s %q has placeholders %v; %s has %v", code, k, got, Default, want)
				}
				if catalogues[code][k] == "" {
					t.Errorf("%s %q is empty", code, k)
				}
			}
		})
	}
}

func TestTranslations(t *testing.T) {
	zh, en := Get("zh"), Get("xx")
	tests := []struct {
		name, got, want string
	}{
		{"default language", en.Code(), "zh"},
		{"format", Get("en").T("gates.ago", 12), "12 s ago"},
		{"reason", zh.Reason("already_used"), "入园次数已用完"},
		{"unknown reason", zh.Reason("new_reason"), "new_reason"},
		{"exit", zh.Decision(true, true), "出园"},
		{"denied", Get("en").Decision(false, false), "Denied"},
		{"missing key", zh.T("no.such.key"), "no.such.key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q; want %q", tc.got, tc.want)
			}
		})
	}
}

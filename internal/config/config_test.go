package config

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParsePrecedence(t *testing.T) {
	env := map[string]string{
		"SCENICGATE_DATA":     "/from/env",
		"SCENICGATE_LISTEN":   ":9000",
		"SCENICGATE_PULSE_MS": "",
	}
	fs := NewFlagSet("test [options]")
	data := fs.String("data", "var/test", "data folder")
	listen := fs.String("listen", ":8080", "listen address")
	pulse := fs.Duration("pulse", 300*time.Millisecond, "relay pulse")
	if err := Parse(fs, []string{"--listen", ":7000"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *data != "/from/env" {
		t.Errorf("data = %q; want the environment's /from/env", *data)
	}
	if *listen != ":7000" {
		t.Errorf("listen = %q; want the command line's :7000", *listen)
	}
	if *pulse != 300*time.Millisecond {
		t.Errorf("pulse = %v; want the default 300ms", *pulse)
	}
}

func TestParseBadEnvironmentValue(t *testing.T) {
	fs := NewFlagSet("test")
	fs.Duration("pulse", time.Second, "relay pulse")
	err := Parse(fs, nil, func(k string) string {
		if k == "SCENICGATE_PULSE" {
			return "soon"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "SCENICGATE_PULSE") {
		t.Fatalf("Parse with SCENICGATE_PULSE=soon: err = %v; want an error naming the variable", err)
	}
}

func TestHelpListsDefaultsAndVariables(t *testing.T) {
	fs := NewFlagSet("gate [options]")
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.String("camera-fps", "5", "frames per second of a folder camera")
	err := Parse(fs, []string{"--help"}, func(string) string { return "" })
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) = %v; want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: gate [options]", "--camera-fps", "SCENICGATE_CAMERA_FPS", "default 5"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help text lacks %q:\n%s", want, out.String())
		}
	}
}

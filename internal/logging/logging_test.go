package logging

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNewWritesJSONWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "warn")
	log.Info("hidden")
	log.Warn("relay pulse failed", "gate", "north-1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log output %q is not one JSON record: %v", buf.String(), err)
	}
	if rec["msg"] != "relay pulse failed" || rec["gate"] != "north-1" {
		t.Errorf("record = %v; want msg and gate attributes", rec)
	}
}

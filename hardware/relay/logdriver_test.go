package relay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/scenicgate/scenicgate/hardware/relay"
)

func TestLogDriver(t *testing.T) {
	var buf bytes.Buffer
	r := openRelay(t, "log", relay.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	for range 2 {
		if err := r.Pulse(context.Background(), relay.MinPulse); err != nil {
			t.Fatalf("Pulse: %v", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var msgs []string
	for line := range strings.Lines(buf.String()) {
		var rec struct{ Msg, Driver string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msgs = append(msgs, rec.Msg+" "+rec.Driver)
	}
	want := []string{"relay on log", "relay off log", "relay on log", "relay off log"}
	if !slices.Equal(msgs, want) {
		t.Errorf("log = %q; want %q", msgs, want)
	}
	if st := r.State(); st.Pulses != 2 || st.Driver != "log" || st.Status != relay.Closed {
		t.Errorf("State() = %+v; want 2 pulses, closed", st)
	}
}

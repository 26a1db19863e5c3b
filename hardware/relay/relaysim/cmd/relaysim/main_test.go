package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay"
)

func TestRunPrintsEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{dir: t.TempDir()}, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	next := func() string {
		if !lines.Scan() {
			t.Fatalf("output ended early: %v", lines.Err())
		}
		return lines.Text()
	}

	first := next()
	path, _, ok := strings.Cut(strings.TrimPrefix(first, "relay board on "), " ")
	if !ok || !strings.HasPrefix(first, "relay board on ") {
		t.Fatalf("first line = %q; want the port", first)
	}
	next()
	next()
	r, err := relay.Open("modbus:"+path+"?addr=1&coil=0", relay.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Pulse(ctx, relay.MinPulse); err != nil {
		t.Fatalf("Pulse: %v", err)
	}
	for _, want := range []string{
		"modbus device 1 coil 0 off [01 05 00 00 00 00 CD CA]",
		"modbus device 1 coil 0 on [01 05 00 00 FF 00 8C 3A]",
		"modbus device 1 coil 0 off [01 05 00 00 00 00 CD CA]",
	} {
		if line := next(); !strings.HasSuffix(line, want) {
			t.Errorf("line = %q; want it to end in %q", line, want)
		}
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("run = %v; want nil after cancel", err)
	}
}

func TestRunRejectsBadException(t *testing.T) {
	if err := run(context.Background(), config{exception: 256}, io.Discard); err == nil {
		t.Error("run with -modbus-exception 256 succeeded; want an error")
	}
}

package drain

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoopDrainsOnWakeAndLogsOutagesOnce(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	failUntil := 3
	called := make(chan struct{}, 100)
	drainFn := func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		called <- struct{}{}
		if calls <= failUntil {
			return errors.New("nats unreachable")
		}
		return nil
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	w := NewWaker()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Loop(ctx, w, time.Hour, drainFn, log, "admissions"); close(done) }()
	for i := 0; i < 5; i++ {
		select {
		case <-called:
		case <-time.After(5 * time.Second):
			t.Fatalf("drain call %d did not happen after a wake", i+1)
		}
		w.Wake()
	}
	cancel()
	<-done
	out := logs.String()
	if n := strings.Count(out, "failed"); n != 1 {
		t.Errorf("logged %d failures for one outage; want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "again"); n != 1 {
		t.Errorf("logged %d recoveries; want 1:\n%s", n, out)
	}
}

func TestWakeNeverBlocks(t *testing.T) {
	w := NewWaker()
	for i := 0; i < 10; i++ {
		w.Wake()
	}
	if len(w) != 1 {
		t.Errorf("pending wakes = %d; want them merged into 1", len(w))
	}
}

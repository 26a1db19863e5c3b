package drain_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/scenicgate/scenicgate/internal/drain"
)

func Example() {
	outbox := []string{"admission 1", "admission 2"}
	sent := make(chan string, 10)
	w := drain.NewWaker()
	ctx, cancel := context.WithCancel(context.Background())
	go drain.Loop(ctx, w, time.Minute, func(context.Context) error {
		for _, a := range outbox {
			sent <- a
		}
		outbox = nil
		return nil
	}, slog.Default(), "admissions")
	fmt.Println(<-sent, "/", <-sent)
	cancel()
	// Output: admission 1 / admission 2
}

package relay

import (
	"context"
	"log/slog"
	"time"
)

// logDriver stands in for hardware: it logs each change of the contact.
type logDriver struct {
	log *slog.Logger
	on  bool
}

func (d *logDriver) connect() error    { return nil }
func (d *logDriver) disconnect() error { return nil }
func (d *logDriver) present() error    { return nil }

func (d *logDriver) closeFor(ctx context.Context, _ time.Duration) error { return d.set(ctx, true) }

// set logs changes only, so the "off" that puts the relay in a known state
// after Open does not read as the end of a pulse.
func (d *logDriver) set(ctx context.Context, on bool) error {
	if on == d.on {
		return nil
	}
	d.on = on
	msg := "relay off"
	if on {
		msg = "relay on"
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, msg, slog.String("driver", "log"))
	return nil
}

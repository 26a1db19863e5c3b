// Package logging builds the slog logger every ScenicGate program uses: text
// for a person at a terminal, JSON for everything else (systemd, files, log
// collectors).
package logging

import (
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"
)

// New returns a logger writing to w at the given level ("debug", "info",
// "warn" or "error"; anything else means info). It writes text when w is a
// terminal and JSON otherwise.
func New(w io.Writer, level string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: parseLevel(level)}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

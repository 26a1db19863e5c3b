package config

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/scenicgate/scenicgate/internal/logging"
)

// Program parses the command line of a serving program: the options that
// register adds, plus --log-level, from args and the environment. It refuses
// leftover arguments and returns the program's logger, writing to stderr.
func Program(usage string, args []string, register func(*flag.FlagSet)) (*slog.Logger, error) {
	fs := NewFlagSet(usage)
	register(fs)
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := Parse(fs, args, os.Getenv); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, UsageError{Msg: fmt.Sprintf("unknown command %q", fs.Arg(0))}
	}
	return logging.New(os.Stderr, *level), nil
}

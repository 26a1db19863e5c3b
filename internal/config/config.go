// Package config gives every ScenicGate program the same way to be configured:
// command-line flags, each of which can also be set through an environment
// variable SCENICGATE_<NAME> (upper case, dashes as underscores). A flag given on
// the command line wins over the environment; the environment wins over the
// default. --help prints every option with its default and its variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment variable that sets a flag.
const EnvPrefix = "SCENICGATE_"

// EnvName returns the environment variable that sets the flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// NewFlagSet returns a flag set for a program or subcommand whose --help lists
// each flag with its default and its environment variable. usage is the first
// line of the help text, such as "enroll [options]".
func NewFlagSet(usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(strings.Fields(usage)[0], flag.ContinueOnError)
	fs.Usage = func() { PrintHelp(fs.Output(), usage, fs) }
	return fs
}

// PrintHelp writes the help text: the usage line, then one entry per flag.
func PrintHelp(w io.Writer, usage string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\nOptions (each also settable as an environment variable):\n", usage)
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s (env %s, default %s)\n", f.Name, EnvName(f.Name), def)
		fmt.Fprintf(w, "      %s\n", f.Usage)
	})
}

// Parse parses args, then sets each flag that was not given on the command line
// from its environment variable, if that is set. getenv is usually os.Getenv.
// It returns flag.ErrHelp after printing the help for -h or --help.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	})
	return errors.Join(errs...)
}

// Main runs a program's entry point and exits: 0 on success or after --help,
// 2 on a usage error, 1 on any other error, printed as one line on stderr.
func Main(name string, run func(args []string) error) {
	err := run(os.Args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(UsageError)):
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// UsageError reports a command line that makes no sense, such as an unknown
// subcommand; Main exits with status 2 for it.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Float32Var defines a float32 flag, for settings such as face distances
// that the code keeps as float32.
func Float32Var(fs *flag.FlagSet, p *float32, name string, usage string) {
	fs.Var((*float32Value)(p), name, usage)
}

type float32Value float32

func (f *float32Value) String() string { return strconv.FormatFloat(float64(*f), 'g', -1, 32) }

func (f *float32Value) Set(s string) error {
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return errors.New("want a number")
	}
	*f = float32Value(v)
	return nil
}

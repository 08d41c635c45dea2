// Command hooklens is the webhook analytics server for Dwolla and its tools.
//
// Run `hooklens help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// command is one hooklens sub-command.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// env is what commands write to; tests swap it.
type env struct {
	stdout io.Writer
	stderr io.Writer
	// dir is where .env is looked for.
	dir string
}

var commands []command

func register(c command) { commands = append(commands, c) }

// errUsage marks an error already explained by a usage message.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, dir: "."})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(e.stderr, "hooklens %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(e.stderr, "hooklens: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "hooklens — webhook analytics for Dwolla")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: hooklens <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run `hooklens <command> -h` for a command's flags. Settings come from flags,")
	fmt.Fprintln(w, "the environment and a .env file; see README.md.")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
// Its usage lists the command's own flags; -h on serve and config lists the
// configuration flags too.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("hooklens "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { printUsage(e.stderr, fs, synopsis, false) }
	helps.Store(fs, func() { printUsage(e.stderr, fs, synopsis, name == "serve" || name == "config") })
	return fs
}

// helps holds each flag set's -h output (the usage, with the
// configuration flags where they are the point), until it is parsed.
var helps sync.Map

// parse parses args. A bad flag prints one line saying what was wrong and
// the command's usage, and maps to errUsage (exit 2); -h prints the help.
func parse(fs *flag.FlagSet, args []string) error {
	// The flag package's own message and usage are printed below, once.
	out, usage := fs.Output(), fs.Usage
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	fs.Usage = usage
	help, _ := helps.LoadAndDelete(fs)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if h, ok := help.(func()); ok {
			h()
		} else {
			fs.Usage()
		}
		return err
	default:
		fmt.Fprintf(out, "%s: %v\n", fs.Name(), err)
		fs.Usage()
		return errUsage
	}
}

// subcommand dispatches "hooklens <group> <sub> …".
func subcommand(ctx context.Context, e *env, group string, args []string, subs map[string]func(context.Context, *env, []string) error) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(e.stderr, "Usage: hooklens %s <%s> [flags]\n", group, strings.Join(names, "|"))
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	fn, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "hooklens %s: unknown sub-command %q (want %s)\n", group, args[0], strings.Join(names, ", "))
		return errUsage
	}
	return fn(ctx, e, args[1:])
}

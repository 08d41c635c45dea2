package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hooklens/hooklens/internal/config"
)

// configFlag reports whether name is one of the configuration flags every
// command accepts (config.Bind). They are listed by `hooklens config -h`
// and `hooklens serve -h`, not in every command's usage.
func configFlag(name string) bool {
	for _, s := range config.Settings {
		if s.Flag == name {
			return true
		}
	}
	return false
}

// printUsage writes the command's synopsis and its own flags; with all it
// also lists the configuration flags.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis string, all bool) {
	fmt.Fprintf(w, "Usage: %s %s\n", fs.Name(), synopsis)
	own := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	own.SetOutput(w)
	hidden := 0
	fs.VisitAll(func(f *flag.Flag) {
		if configFlag(f.Name) && !all {
			hidden++
			return
		}
		own.Var(f.Value, f.Name, f.Usage)
	})
	n := 0
	own.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		own.PrintDefaults()
	}
	if hidden > 0 {
		fmt.Fprintf(w, "\nIt also takes the %d configuration flags (--database-url, …): `hooklens config -h` lists them.\n", hidden)
	}
}

// usageError prints what was wrong, on one line, and the command's usage,
// and makes the command exit 2.
func usageError(e *env, fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return errUsage
}

// Output formats of commands that print a result.
const (
	outputText = "text"
	outputJSON = "json"
)

// output is a command's --output flag.
type output struct{ format string }

// outputFlag adds --output (and --json, its shorthand) to fs.
func outputFlag(fs *flag.FlagSet) *output {
	o := &output{format: outputText}
	fs.Func("output", "result format: text or json", func(v string) error {
		switch strings.ToLower(v) {
		case outputText, outputJSON:
			o.format = strings.ToLower(v)
			return nil
		}
		return errors.New("must be text or json")
	})
	fs.BoolFunc("json", "shorthand for --output json", func(string) error {
		o.format = outputJSON
		return nil
	})
	return o
}

// JSON reports whether the result is to be printed as JSON.
func (o *output) JSON() bool { return o.format == outputJSON }

// writeJSON prints v as one indented JSON document.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

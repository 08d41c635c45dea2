package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/hooklens/hooklens/internal/store"
)

func init() {
	register(command{name: "version", summary: "print the version, commit and build of this binary", run: versionCommand})
}

// versionJSON is what `hooklens version --output json` prints.
type versionJSON struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	// CommitTime is when the commit was made (RFC 3339), "" when unknown.
	CommitTime string `json:"commitTime"`
	// Modified is true when the binary was built from a tree with
	// uncommitted changes.
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	// Schema is the database schema version this binary expects.
	Schema string `json:"schema"`
}

// buildVersion reads what the Go toolchain recorded in the binary: the
// module version (a tag when installed with go install) and the VCS
// revision when built from a checkout.
func buildVersion() versionJSON {
	v := versionJSON{Version: "(devel)", Commit: "unknown", Go: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Schema: store.SchemaVersion}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func versionCommand(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "[--output json]")
	out := outputFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(e, fs, "takes no arguments")
	}
	v := buildVersion()
	if out.JSON() {
		return writeJSON(e.stdout, v)
	}
	commit := v.Commit
	if v.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(e.stdout, "hooklens %s\n  commit:   %s", v.Version, commit)
	if v.CommitTime != "" {
		fmt.Fprintf(e.stdout, " of %s", v.CommitTime)
	}
	fmt.Fprintf(e.stdout, "\n  built:    %s %s\n  schema:   %s\n", v.Go, v.Platform, v.Schema)
	return nil
}

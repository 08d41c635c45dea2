package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSuiteCommand(t *testing.T) {
	t.Parallel()
	require.Equal(t, "hooklens bench suite --db sqlite --quiet-cores 0",
		suiteCommand([]string{"--out", "/tmp/x", "--db", "sqlite", "--markdown=/tmp/B.md", "--quiet-cores", "0", "--render", "/tmp/r"}))
}

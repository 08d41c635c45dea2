package dbtest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
)

// stopped records how SkipMissing stopped a test instead of stopping it.
type stopped struct {
	testing.TB
	fatal, skip string
}

func (s *stopped) Helper()                        {}
func (s *stopped) Name() string                   { return "TestSomething/postgres" }
func (s *stopped) Fatalf(format string, a ...any) { s.fatal = format }
func (s *stopped) Skip(a ...any)                  { s.skip = "skip" }

// Outside CI a missing prerequisite skips the test and leaves a line for
// make test's summary; under CI=true it fails the test and leaves nothing.
func TestSkipMissing(t *testing.T) {
	log := filepath.Join(t.TempDir(), "skipped.txt")
	t.Setenv("HOOKLENS_SKIP_LOG", log)

	t.Setenv("CI", "")
	s := &stopped{}
	dbtest.SkipMissing(s, "promtool is not on PATH")
	require.Equal(t, "skip", s.skip)
	require.Empty(t, s.fatal)
	raw, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "promtool is not on PATH\tTestSomething/postgres\n", string(raw))

	t.Setenv("CI", "true")
	s = &stopped{}
	dbtest.SkipMissing(s, "promtool is not on PATH")
	require.NotEmpty(t, s.fatal)
	require.Empty(t, s.skip)
	raw, err = os.ReadFile(log)
	require.NoError(t, err)
	require.Equal(t, "promtool is not on PATH\tTestSomething/postgres\n", string(raw), "CI must not log a skip")
}

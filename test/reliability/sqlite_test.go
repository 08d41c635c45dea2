//go:build reliability

package reliability

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
)

// TestSQLiteDiskFull puts the database on a 24 MB tmpfs mounted for the
// test (root only; unmounted at the end), fills that filesystem, and checks
// that deliveries get 503 — and that any 200 answered meanwhile was
// durable — and that freeing space brings 200s back without a restart.
func TestSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		dbtest.SkipMissing(t, errNotRoot.Error())
	}
	mnt := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", mnt).CombinedOutput()
	require.NoError(t, err, "mounting a small tmpfs: %s", out)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	s := newServer(t, serverOptions{databaseURL: filepath.Join(mnt, "hooklens.db")})
	s.start()

	acked := map[string]bool{}
	deliver := func(id string) int {
		status, _, _, err := s.deliver(eventBody(id), nil)
		require.NoError(t, err)
		if status == http.StatusOK {
			acked[id] = true
		}
		return status
	}
	for i := 0; i < 20; i++ {
		require.Equal(t, http.StatusOK, deliver(fmt.Sprintf("full-before-%d", i)))
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	statuses := map[int]int{}
	for i := 0; i < 300 && statuses[http.StatusServiceUnavailable] < 5; i++ {
		statuses[deliver(fmt.Sprintf("full-during-%d", i))]++
	}
	t.Logf("while the disk was full: %v", statuses)
	require.GreaterOrEqual(t, statuses[http.StatusServiceUnavailable], 5, "a full disk answers 503")
	for status := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, status)
	}

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool {
		return deliver(fmt.Sprintf("full-after-%d", time.Now().UnixNano())) == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "no recovery after space was freed")
	requireAllStoredOnceAndProcessed(t, openDB(t, filepath.Join(mnt, "hooklens.db")), acked, "full")
	s.stop()
}

// fill writes to path until the filesystem is full.
func fill(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for size := len(chunk); size >= 512; {
		_, err := f.Write(chunk[:size])
		if errors.Is(err, syscall.ENOSPC) {
			size /= 2
			continue
		}
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
}

// TestSQLiteReadOnly: the database's files turn read-only under the
// running server. Linux refuses to remount a filesystem read-only while a
// process holds a file open for writing (EBUSY), so a read-only remount
// under a live server cannot be staged; instead the files are made
// immutable (chattr +i, on ext4 as /tmp is here), after which the kernel
// refuses every write on the server's open descriptors — what a filesystem
// that went read-only does (EPERM instead of EROFS; SQLite reports an I/O
// error either way). Every delivery must get 503, never 200, and clearing
// the flag brings 200s back without a restart.
func TestSQLiteReadOnly(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		dbtest.SkipMissing(t, errNotRoot.Error())
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "hooklens.db")
	s := newServer(t, serverOptions{databaseURL: path})
	s.start()
	acked := map[string]bool{}
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("ro-before-%d", i)
		status, _, _, err := s.deliver(eventBody(id), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		acked[id] = true
	}

	files := []string{path, path + "-wal"}
	chattr := func(flag string) error {
		out, err := exec.Command("chattr", append([]string{flag}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("chattr %s: %v: %s", flag, err, out)
		}
		return nil
	}
	t.Cleanup(func() { _ = chattr("-i") }) // or TempDir cannot remove them
	require.NoError(t, chattr("+i"), "making the database read-only needs chattr on ext4")
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("ro-during-%d", i)
		status, _, body, err := s.deliver(eventBody(id), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, status, "a read-only database answers 503: %s", body)
	}
	require.NoError(t, chattr("-i"))
	require.Eventually(t, func() bool {
		id := fmt.Sprintf("ro-after-%d", time.Now().UnixNano())
		status, _, _, err := s.deliver(eventBody(id), nil)
		if err == nil && status == http.StatusOK {
			acked[id] = true
			return true
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "no recovery once the database was writable again")
	requireAllStoredOnceAndProcessed(t, openDB(t, path), acked, "ro")
	s.stop()
}

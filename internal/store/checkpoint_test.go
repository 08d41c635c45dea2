package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dbtest"
)

// TestCheckpointsRunOffTheCommitPath: the writer's commits never run a
// checkpoint (its automatic checkpoints are off), and the background
// checkpointer folds the WAL into the database file.
func TestCheckpointsRunOffTheCommitPath(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	ctx := context.Background()
	var auto int
	require.NoError(t, db.Write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto))
	require.Zero(t, auto, "the writer does not checkpoint inside its commits")
	_, err := db.Write.ExecContext(ctx, "CREATE TABLE ckpt_test (v BLOB)")
	require.NoError(t, err)
	for i := 0; i < 200; i++ {
		_, err := db.Write.ExecContext(ctx, "INSERT INTO ckpt_test VALUES (randomblob(8000))")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		wal, done, err := db.Checkpoint(ctx)
		return err == nil && wal > 0 && done == wal
	}, 10*time.Second, 50*time.Millisecond, "every WAL page reached the database file")
	st, err := os.Stat(db.URL)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(200*8000), "the rows are in the database file")
}

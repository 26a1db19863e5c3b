package sqlitedb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestMigrationsRunOnceInOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	m := []Migration{
		Exec(`CREATE TABLE a (x INTEGER)`),
		Exec(`ALTER TABLE a ADD COLUMN y TEXT`, `INSERT INTO a (x, y) VALUES (1, 'one')`),
	}
	db, err := Open(ctx, path, m)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// Reopening must not run the migrations again (the INSERT would duplicate).
	db, err = Open(ctx, path, m)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("rows after reopening = %d; want 1", n)
	}
	if v, _ := Version(ctx, db.Read); v != 2 {
		t.Errorf("Version = %d; want 2", v)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(ctx, path, []Migration{Exec(`CREATE TABLE a (x)`), Exec(`CREATE TABLE b (x)`)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(ctx, path, []Migration{Exec(`CREATE TABLE a (x)`)})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open with fewer migrations = %v; want ErrSchemaTooNew", err)
	}
}

func TestFailedMigrationLeavesNothingBehind(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	_, err := Open(ctx, path, []Migration{Exec(`CREATE TABLE a (x)`, `CREATE TABLE broken (`)})
	if err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
	db, err := Open(ctx, path, []Migration{Exec(`CREATE TABLE a (x)`)})
	if err != nil {
		t.Fatalf("Open after a failed migration: %v (the failed one must have rolled back)", err)
	}
	defer db.Close()
	if v, _ := Version(ctx, db.Read); v != 1 {
		t.Errorf("Version = %d; want 1", v)
	}
}

func TestReadPoolIsReadOnly(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), []Migration{Exec(`CREATE TABLE a (x)`)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Read.Exec(`INSERT INTO a VALUES (1)`); err == nil {
		t.Error("insert through the read pool succeeded; want it refused")
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFilesAreTheOwnersOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	db, err := Open(ctx, path, []Migration{Exec(`CREATE TABLE a (x)`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(`INSERT INTO a VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != FileMode {
			t.Errorf("%s has mode %v; want %v", filepath.Base(p), fi.Mode().Perm(), FileMode)
		}
	}
	db.Close()

	// A database an older release created 0644 is restricted when opened.
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(old, 0o644) // whatever the umask
	db, err = Open(ctx, old, []Migration{Exec(`CREATE TABLE a (x)`)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, _ := os.Stat(old); fi.Mode().Perm() != FileMode {
		t.Errorf("a 0644 database opened again has mode %v; want %v", fi.Mode().Perm(), FileMode)
	}
}

func TestSecureDeleteOnEveryConnection(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, pool := range map[string]*sql.DB{"write": db.Write, "read": db.Read} {
		var on int
		if err := pool.QueryRow(`PRAGMA secure_delete`).Scan(&on); err != nil {
			t.Fatal(err)
		}
		if on != 1 {
			t.Errorf("%s connection: secure_delete = %d; want 1", name, on)
		}
	}
}

// TestDeletedBytesLeaveTheFiles deletes a row with a distinctive blob and
// checkpoints: neither the database nor its log may hold the blob then.
func TestDeletedBytesLeaveTheFiles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(ctx, path, []Migration{Exec(`CREATE TABLE faces (id INTEGER PRIMARY KEY, descriptor BLOB)`)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A 512-byte descriptor between others on the same page, as a ticket's
	// face sits among other tickets' faces.
	secret := bytes.Repeat([]byte("descriptor-0123456789abcdef:"), 19)[:512]
	for i := 0; i < 6; i++ {
		blob := bytes.Repeat([]byte{byte('a' + i)}, 512)
		if i == 3 {
			blob = secret
		}
		if _, err := db.Write.Exec(`INSERT INTO faces VALUES (?, ?)`, i, blob); err != nil {
			t.Fatal(err)
		}
	}
	// Part of it on disk in the database too, not only in the log.
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, path, secret) {
		t.Fatal("the blob is not in the database before the delete; the test would prove nothing")
	}
	if _, err := db.Write.Exec(`DELETE FROM faces WHERE id = 3`); err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, path, secret) && !fileHolds(t, path+"-wal", secret) {
		t.Fatal("the blob vanished before the checkpoint; the test would prove nothing")
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if fileHolds(t, p, secret[:64]) {
			t.Errorf("%s still holds the deleted blob", filepath.Base(p))
		}
	}
	var n int
	db.Read.QueryRow(`SELECT count(*) FROM faces`).Scan(&n)
	if n != 5 {
		t.Errorf("%d rows left; want the other 5", n)
	}
}

func fileHolds(t *testing.T, path string, b []byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, b)
}

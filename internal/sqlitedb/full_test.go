package sqlitedb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), []Migration{Exec(`CREATE TABLE a (x BLOB)`)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A database capped at its size fills up as on a full disk.
	var pages int
	if err := db.Write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	_, err = db.Write.Exec(`INSERT INTO a (x) VALUES (zeroblob(100000))`)
	if err == nil || !DiskFull(fmt.Errorf("store: %w", err)) {
		t.Fatalf("insert into a full database: %v; want an error DiskFull recognises", err)
	}
	if DiskFull(errors.New("database is locked")) || DiskFull(nil) {
		t.Error("DiskFull recognises errors that are not a full disk")
	}
}

package sqlitedb

import (
	"context"
	"errors"
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

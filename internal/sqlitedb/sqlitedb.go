// Package sqlitedb opens the SQLite databases of ScenicGate's programs and
// brings their schema up to date.
//
// Each database has one writer connection and a pool of read-only
// connections, both in WAL mode: SQLite allows one writer at a time, and a
// single writer connection turns lock contention into an orderly queue in Go
// instead of SQLITE_BUSY errors, while readers never wait for the writer.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// ErrSchemaTooNew means the database was written by a newer release; the
// program refuses to run against it rather than misread it.
var ErrSchemaTooNew = errors.New("database schema is newer than this program")

// ErrCheckpointBusy means Checkpoint could not empty the write-ahead log
// because readers kept using it; the erased content is gone from the
// database but may still sit in the log until the next checkpoint.
var ErrCheckpointBusy = errors.New("write-ahead log still in use by readers")

// FileMode is the mode of every database file: owner only.
const FileMode os.FileMode = 0o600

// Migration changes the schema from one version to the next. It runs in its
// own transaction, together with the bump of the version number.
type Migration func(ctx context.Context, tx *sql.Tx) error

// DB is an open database. Write has exactly one connection; Read has several
// read-only ones. Both are safe for concurrent use.
type DB struct {
	Write *sql.DB
	Read  *sql.DB
	path  string
}

// Open opens (creating it if needed) the database at path and applies the
// migrations it has not seen yet, in order. migrations[i] brings the schema to
// version i+1. It refuses, with ErrSchemaTooNew, a database whose version is
// higher than len(migrations).
func Open(ctx context.Context, path string, migrations []Migration) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlitedb: %w", err)
	}
	if err := restrictFiles(path); err != nil {
		return nil, fmt.Errorf("sqlitedb: %w", err)
	}
	w, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	// The single connection must never be closed for idleness: reopening it
	// costs little, but keeping it avoids surprises with temp tables.
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, migrations); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitedb: %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitedb: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &DB{Write: w, Read: r, path: path}, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes both pools. It is safe to call more than once.
func (db *DB) Close() error {
	return errors.Join(db.Read.Close(), db.Write.Close())
}

// restrictFiles creates the database file with FileMode before SQLite opens
// it — SQLite gives the -wal and -shm files the database file's mode — and
// takes group and other permissions away from files an older release
// created 0644.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&^FileMode != 0 {
			if err := os.Chmod(p, FileMode); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_secure_delete", "on")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	if readOnly {
		q.Set("mode", "ro")
		q.Set("_query_only", "true")
		q.Del("_txlock")
	}
	return "file:" + path + "?" + q.Encode()
}

// Tx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Checkpoint copies the write-ahead log into the database and truncates the
// log to zero bytes, so that content deleted (with secure_delete, zeroed in
// the database) no longer survives in older log frames. Readers still on an
// older snapshot hold it up: SQLite waits for them up to the busy timeout,
// and after three such waits it gives up with ErrCheckpointBusy; the next
// checkpoint catches up. It uses the writer connection, so writes wait
// meanwhile.
func (db *DB) Checkpoint(ctx context.Context) error {
	const attempts = 3
	for i := 0; ; i++ {
		var busy, logFrames, checkpointed int
		err := db.Write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
		if err != nil {
			return fmt.Errorf("sqlitedb: checkpoint %s: %w", db.path, err)
		}
		if busy == 0 {
			return nil
		}
		if i == attempts-1 {
			return fmt.Errorf("sqlitedb: checkpoint %s: %w", db.path, ErrCheckpointBusy)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Millis stores an instant as Unix milliseconds, the zero time as 0.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Time reads Unix milliseconds stored by Millis; 0 is the zero time.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

package sqlitedb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	migrations := []sqlitedb.Migration{
		sqlitedb.Exec(`CREATE TABLE gates (id TEXT PRIMARY KEY)`),
		sqlitedb.Exec(`ALTER TABLE gates ADD COLUMN zone TEXT NOT NULL DEFAULT 'main'`),
	}
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "site.db"), migrations)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO gates (id) VALUES ('north-1')`)
		return err
	})
	var zone string
	db.Read.QueryRow(`SELECT zone FROM gates WHERE id = 'north-1'`).Scan(&zone)
	v, _ := sqlitedb.Version(ctx, db.Read)
	fmt.Println(zone, v)
	// Output: main 2
}

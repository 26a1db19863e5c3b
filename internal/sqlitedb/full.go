package sqlitedb

import (
	"errors"
	"syscall"

	"github.com/mattn/go-sqlite3"
)

// DiskFull reports whether err says the disk (or the database) has no room
// left: SQLITE_FULL, or a write refused with ENOSPC or EDQUOT. A program
// answers it as a fault of its own, not as a failed request.
func DiskFull(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		if se.Code == sqlite3.ErrFull {
			return true
		}
		err = se.SystemErrno
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

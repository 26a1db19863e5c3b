// Package disk tells a program that its data folder is running out of room,
// before SQLite and JetStream start refusing writes.
package disk

import (
	"fmt"
	"syscall"
)

// lowMax caps the free space below which a folder counts as nearly full: 5%
// of the filesystem, but never more than this.
const lowMax = 64 << 20

// Fault returns what the status should say about the room left in dir — ""
// while there is enough, or when it cannot be told.
func Fault(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return ""
	}
	return fault(dir, st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize))
}

func fault(dir string, free, total uint64) string {
	if total == 0 || free >= min(total/20, lowMax) {
		return ""
	}
	if free == 0 {
		return fmt.Sprintf("disk: full (%s, %s)", dir, size(total))
	}
	return fmt.Sprintf("disk: nearly full, %s free of %s (%s)", size(free), size(total), dir)
}

// size writes a byte count for people.
func size(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

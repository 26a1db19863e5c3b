package testenv

import (
	"strconv"
	"strings"
)

// ProcMB reads a "Name:  1234 kB" line of a /proc/<pid>/status file, such
// as "VmRSS:", in MB; 0 when the line is missing.
func ProcMB(status []byte, name string) float64 {
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

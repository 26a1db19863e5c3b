//go:build !faultpoints

package node

// faultPoint is nil: only a gate built with -tags faultpoints stops at a
// fault point (see faultpoint.go).
func faultPoint(string) func() { return nil }

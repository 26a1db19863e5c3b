//go:build !linux

package node

// lowerThreadPriority does nothing where niceness is not per thread.
func lowerThreadPriority() error { return nil }

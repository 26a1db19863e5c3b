//go:build !linux

package matcher

// region is memory from the Go heap where there is no mremap.
type region struct{ b []byte }

// resize makes r size bytes long, keeping its contents.
func (r *region) resize(size int) error {
	b := make([]byte, size)
	copy(b, r.b)
	r.b = b
	return nil
}

// release drops r.
func (r *region) release() { r.b = nil }

package matcher

import "golang.org/x/sys/unix"

// region is memory from an anonymous private mapping: zero when mapped,
// resident only where written, grown by remapping.
type region struct{ b []byte }

// resize makes r size bytes long, keeping its contents.
func (r *region) resize(size int) error {
	if r.b == nil {
		b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return err
		}
		r.b = b
		return nil
	}
	b, err := unix.Mremap(r.b, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		return err
	}
	r.b = b
	return nil
}

// release unmaps r.
func (r *region) release() {
	if r.b != nil {
		unix.Munmap(r.b)
		r.b = nil
	}
}

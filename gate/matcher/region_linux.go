package matcher

import "golang.org/x/sys/unix"

// region is memory from an anonymous private mapping: zero when mapped,
// resident only where written, grown by remapping. It asks for huge pages
// (2 MB rather than 4 kB where the kernel allows): a search reads a
// million MobileFaceNet records, 104 MB, in a stream, and with 4 kB pages it
// waits on address translation every 39 records; huge pages made it a tenth
// to a fifth faster here. At most a huge page's worth of unused room
// becomes resident at the end of the region.
type region struct{ b []byte }

// resize makes r size bytes long, keeping its contents.
func (r *region) resize(size int) error {
	if r.b == nil {
		b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return err
		}
		r.b = b
		hugePages(b)
		return nil
	}
	b, err := unix.Mremap(r.b, size, unix.MREMAP_MAYMOVE)
	if err != nil {
		return err
	}
	r.b = b
	hugePages(b)
	return nil
}

// hugePages asks for b to be backed by huge pages. A kernel without them,
// or with them turned off, refuses; the mapping works as before.
func hugePages(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }

// release unmaps r.
func (r *region) release() {
	if r.b != nil {
		unix.Munmap(r.b)
		r.b = nil
	}
}

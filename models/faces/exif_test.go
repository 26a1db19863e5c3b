package faces

import (
	"bytes"
	"encoding/binary"
	"testing"
)

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// exifSegment builds an APP1 segment holding a TIFF structure whose first
// directory has the given entries (tag, type, value).
func exifSegment(order byteOrder, entries ...[3]uint32) []byte {
	tiff := make([]byte, 8, 64)
	if order == binary.BigEndian {
		copy(tiff, "MM")
	} else {
		copy(tiff, "II")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8)
	tiff = order.AppendUint16(tiff, uint16(len(entries)))
	for _, e := range entries {
		tiff = order.AppendUint16(tiff, uint16(e[0]))
		tiff = order.AppendUint16(tiff, uint16(e[1]))
		tiff = order.AppendUint32(tiff, 1)
		value := make([]byte, 4)
		if e[1] == 3 {
			order.PutUint16(value, uint16(e[2]))
		} else {
			order.PutUint32(value, e[2])
		}
		tiff = append(tiff, value...)
	}
	tiff = order.AppendUint32(tiff, 0)
	return segment(markerAPP1, append([]byte("Exif\x00\x00"), tiff...))
}

func segment(marker byte, payload []byte) []byte {
	s := []byte{0xFF, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(2+len(payload)))
	return append(s, payload...)
}

// jpegWith assembles a JPEG skeleton: the start marker, the given segments, a
// scan header and some compressed bytes, and the end marker if complete.
func jpegWith(complete bool, segments ...[]byte) []byte {
	out := []byte{0xFF, markerSOI}
	for _, s := range segments {
		out = append(out, s...)
	}
	out = append(out, segment(markerSOS, []byte{1, 1, 0, 0, 63, 0})...)
	out = append(out, 0x12, 0xFF, 0x00, 0x34, 0xFF, markerRST0, 0x56)
	if complete {
		out = append(out, 0xFF, markerEOI)
	}
	return out
}

func TestScanJPEG(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	const tag = 0x0112
	thumbnail := jpegWith(true) // an embedded JPEG ends with its own end marker
	tests := []struct {
		name string
		data []byte
		want jpegMarkers
	}{
		{"no EXIF", jpegWith(true), jpegMarkers{orientTopLeft, true, 1}},
		{"truncated", jpegWith(false), jpegMarkers{orientTopLeft, false, 1}},
		{"orientation 6, little-endian", jpegWith(true, exifSegment(le, [3]uint32{tag, 3, 6})), jpegMarkers{orientRightTop, true, 1}},
		{"orientation 8, big-endian", jpegWith(true, exifSegment(be, [3]uint32{tag, 3, 8})), jpegMarkers{orientLeftBottom, true, 1}},
		{"tag after another", jpegWith(true, exifSegment(le, [3]uint32{0x010F, 3, 1}, [3]uint32{tag, 3, 3})), jpegMarkers{orientBottomRight, true, 1}},
		{"tag as LONG", jpegWith(true, exifSegment(be, [3]uint32{tag, 4, 5})), jpegMarkers{orientLeftTop, true, 1}},
		{"tag as ASCII", jpegWith(true, exifSegment(le, [3]uint32{tag, 2, 6})), jpegMarkers{orientTopLeft, true, 1}},
		{"orientation 0", jpegWith(true, exifSegment(le, [3]uint32{tag, 3, 0})), jpegMarkers{orientTopLeft, true, 1}},
		{"orientation 9", jpegWith(true, exifSegment(le, [3]uint32{tag, 3, 9})), jpegMarkers{orientTopLeft, true, 1}},
		{"first EXIF wins", jpegWith(true, exifSegment(le, [3]uint32{tag, 3, 6}), exifSegment(le, [3]uint32{tag, 3, 3})), jpegMarkers{orientRightTop, true, 1}},
		{"XMP in APP1", jpegWith(true, segment(markerAPP1, []byte("http://ns.adobe.com/xap/1.0/\x00<x/>"))), jpegMarkers{orientTopLeft, true, 1}},
		{"thumbnail does not count as the end", jpegWith(false, segment(markerAPP1, append([]byte("Exif\x00\x00"), thumbnail...))), jpegMarkers{orientTopLeft, false, 1}},
		{"fill bytes before a marker", append([]byte{0xFF, markerSOI, 0xFF, 0xFF}, jpegWith(true)[2:]...), jpegMarkers{orientTopLeft, true, 1}},
		{"not a JPEG", []byte("GIF89a"), jpegMarkers{orientTopLeft, false, 0}},
		{"segment longer than the data", []byte{0xFF, markerSOI, 0xFF, markerAPP1, 0xFF, 0xF0, 'E'}, jpegMarkers{orientTopLeft, false, 0}},
		{"segment length below 2", []byte{0xFF, markerSOI, 0xFF, markerAPP1, 0x00, 0x01}, jpegMarkers{orientTopLeft, false, 0}},
		{"garbage between segments", []byte{0xFF, markerSOI, 0x00, 0xFF, markerEOI}, jpegMarkers{orientTopLeft, false, 0}},
	}
	// Two more scans, as a progressive JPEG has.
	progressive := jpegWith(false)
	for range 2 {
		progressive = append(progressive, segment(markerSOS, []byte{1, 1, 0, 0, 63, 0})...)
		progressive = append(progressive, 0x77, 0xFF, 0x00)
	}
	progressive = append(progressive, 0xFF, markerEOI)
	tests = append(tests, struct {
		name string
		data []byte
		want jpegMarkers
	}{"progressive, three scans", progressive, jpegMarkers{orientTopLeft, true, 3}})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scanJPEG(tt.data); got != tt.want {
				t.Errorf("scanJPEG(% x) = %+v; want %+v", tt.data, got, tt.want)
			}
		})
	}
}

func TestExifOrientationMalformed(t *testing.T) {
	good := exifSegment(binary.LittleEndian, [3]uint32{0x0112, 3, 6})[4+6:] // the TIFF structure
	if got := exifOrientation(good); got != orientRightTop {
		t.Fatalf("exifOrientation(good) = %d; want %d", got, orientRightTop)
	}
	// Every truncation of a valid structure must read as upright or as
	// the full answer, never panic.
	for n := range len(good) {
		if got := exifOrientation(good[:n]); got != orientTopLeft && got != orientRightTop {
			t.Errorf("exifOrientation(first %d bytes) = %d; want %d or %d", n, got, orientTopLeft, orientRightTop)
		}
	}
	huge := bytes.Clone(good)
	binary.LittleEndian.PutUint32(huge[4:], 0xFFFFFFF0) // directory offset past the end
	if got := exifOrientation(huge); got != orientTopLeft {
		t.Errorf("exifOrientation(offset 0xFFFFFFF0) = %d; want %d", got, orientTopLeft)
	}
	many := bytes.Clone(good)
	binary.LittleEndian.PutUint16(many[8:], 0xFFFF) // more entries than bytes
	many[10] = 0                                    // and not the orientation tag first
	if got := exifOrientation(many); got != orientTopLeft {
		t.Errorf("exifOrientation(65535 entries) = %d; want %d", got, orientTopLeft)
	}
}

// FuzzScanJPEG checks that no input makes the marker walk panic or read out
// of bounds, and that the orientation it reports is always valid.
func FuzzScanJPEG(f *testing.F) {
	f.Add(jpegWith(true, exifSegment(binary.LittleEndian, [3]uint32{0x0112, 3, 6})))
	f.Add(jpegWith(true, exifSegment(binary.BigEndian, [3]uint32{0x0112, 4, 8})))
	f.Add(jpegWith(false))
	f.Add([]byte{0xFF, markerSOI, 0xFF})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := scanJPEG(data)
		if m.orientation < orientTopLeft || m.orientation > orientLeftBottom {
			t.Errorf("scanJPEG(% x).orientation = %d; want 1 to 8", data, m.orientation)
		}
	})
}

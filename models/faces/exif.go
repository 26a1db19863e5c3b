package faces

import (
	"bytes"
	"encoding/binary"
)

// orientation is a JPEG's EXIF orientation tag (0x0112): how the stored pixels
// must be turned to show the picture upright. Phones store photos the way the
// sensor read them and set this tag rather than rotating the pixels.
type orientation int

// The eight EXIF orientations, named by where the stored first row and first
// column appear in the upright picture.
const (
	orientTopLeft     orientation = 1 // as stored
	orientTopRight    orientation = 2 // mirrored left to right
	orientBottomRight orientation = 3 // turned 180°
	orientBottomLeft  orientation = 4 // mirrored top to bottom
	orientLeftTop     orientation = 5 // transposed
	orientRightTop    orientation = 6 // turn 90° clockwise to show
	orientRightBottom orientation = 7 // transposed across the other diagonal
	orientLeftBottom  orientation = 8 // turn 90° anticlockwise to show
)

// swapsAxes reports whether the upright picture's width is the stored height.
func (o orientation) swapsAxes() bool { return o >= orientLeftTop }

// jpegMarkers is what the engine learns from a JPEG's marker segments before
// decoding any pixels.
type jpegMarkers struct {
	// orientation is the EXIF orientation, orientTopLeft when there is no
	// valid tag.
	orientation orientation
	// complete reports that the compressed data is followed by an end-of-image
	// marker; a truncated upload lacks it.
	complete bool
	// scans counts the start-of-scan markers: one for a baseline JPEG, a
	// handful for a progressive one.
	scans int
}

// JPEG marker codes (ITU T.81 table B.1).
const (
	markerSOI  = 0xD8
	markerEOI  = 0xD9
	markerSOS  = 0xDA
	markerAPP1 = 0xE1
	markerTEM  = 0x01
	markerRST0 = 0xD0
	markerRST7 = 0xD7
)

// scanJPEG walks the marker segments of a JPEG up to its first scan. It never
// panics and never reads outside data: malformed segments end the walk, and
// what was not found keeps its zero meaning (upright, incomplete).
func scanJPEG(data []byte) jpegMarkers {
	m := jpegMarkers{orientation: orientTopLeft}
	if len(data) < 2 || data[0] != 0xFF || data[1] != markerSOI {
		return m
	}
	seenExif := false
	pos := 2
	for pos+1 < len(data) {
		if data[pos] != 0xFF {
			return m
		}
		marker := data[pos+1]
		if marker == 0xFF { // fill byte before a marker
			pos++
			continue
		}
		pos += 2
		if marker == markerSOI || marker == markerTEM || (marker >= markerRST0 && marker <= markerRST7) {
			continue // markers without a length
		}
		if marker == markerEOI || pos+2 > len(data) {
			return m
		}
		length := int(binary.BigEndian.Uint16(data[pos:]))
		end := pos + length
		if length < 2 || end > len(data) {
			return m
		}
		payload := data[pos+2 : end]
		switch {
		case marker == markerAPP1 && !seenExif && bytes.HasPrefix(payload, []byte("Exif\x00\x00")):
			seenExif = true
			m.orientation = exifOrientation(payload[6:])
		case marker == markerSOS:
			// Compressed data cannot contain 0xFF 0xD9: encoders stuff a
			// zero after every 0xFF in it. So the last such pair past the
			// first scan header is the end-of-image marker, if it is there.
			// The same stuffing means every 0xFF 0xDA after this one
			// starts another scan.
			rest := data[end:]
			m.complete = bytes.LastIndex(rest, []byte{0xFF, markerEOI}) >= 0
			m.scans = 1 + bytes.Count(rest, []byte{0xFF, markerSOS})
			return m
		}
		pos = end
	}
	return m
}

// exifOrientation reads the orientation tag from the first image file
// directory of a TIFF structure (the body of an EXIF segment). It returns
// orientTopLeft when the structure or the tag is missing or malformed.
func exifOrientation(tiff []byte) orientation {
	if len(tiff) < 8 {
		return orientTopLeft
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return orientTopLeft
	}
	if order.Uint16(tiff[2:]) != 42 {
		return orientTopLeft
	}
	// Offsets are 32-bit; compare in uint64 so a huge offset cannot wrap.
	ifd := uint64(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > uint64(len(tiff)) {
		return orientTopLeft
	}
	count := uint64(order.Uint16(tiff[ifd:]))
	const entrySize = 12 // tag, type, count, value
	for i := uint64(0); i < count; i++ {
		at := ifd + 2 + i*entrySize
		if at+entrySize > uint64(len(tiff)) {
			break
		}
		entry := tiff[at : at+entrySize]
		if order.Uint16(entry) != 0x0112 {
			continue
		}
		var value uint32
		switch order.Uint16(entry[2:]) {
		case 3: // SHORT, the type the standard prescribes
			value = uint32(order.Uint16(entry[8:]))
		case 4: // LONG, written by a few tools
			value = order.Uint32(entry[8:])
		default:
			return orientTopLeft
		}
		if value < uint32(orientTopLeft) || value > uint32(orientLeftBottom) {
			return orientTopLeft
		}
		return orientation(value)
	}
	return orientTopLeft
}

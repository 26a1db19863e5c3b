package faces

// A JPEG that cannot go to dlib as it is (too large, turned by EXIF, or
// grayscale) is decoded here with libjpeg-turbo: it can decode at 1/2, 1/4 or
// 1/8 scale straight from the compressed coefficients: a 12-megapixel photo
// comes down to 1280x960 in 31 to 42 ms, against 40 to 46 ms through OpenCV's
// imdecode and 250 ms through image/jpeg (BenchmarkDecodeJPEG).
//
// libjpeg reports damaged data as warnings and goes on with grey pixels.
// Unlike OpenCV's imdecode, the decoder refuses a JPEG that warns while its
// pixels are still being decoded, so a damaged upload is refused instead of
// being enrolled with grey holes. A warning once every row is out — as for a
// photo whose end-of-image marker is missing, or that has stray bytes before
// it — harms no pixel: the image is decoded, and the warning is passed on.

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char message[JMSG_LENGTH_MAX];
	// rows_done is set once every scanline has been read: a warning after
	// that cannot have touched a pixel.
	int rows_done;
	// warning holds the first harmless warning, "" when there was none.
	char warning[JMSG_LENGTH_MAX];
} sg_jpeg_error;

static void sg_jpeg_fail(j_common_ptr cinfo) {
	sg_jpeg_error *err = (sg_jpeg_error *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, err->message);
	longjmp(err->jump, 1);
}

// libjpeg reports damaged data (level -1) as a warning and goes on with grey
// pixels; other levels are trace messages.
static void sg_jpeg_message(j_common_ptr cinfo, int level) {
	sg_jpeg_error *err = (sg_jpeg_error *)cinfo->err;
	if (level >= 0) {
		return;
	}
	if (!err->rows_done) {
		sg_jpeg_fail(cinfo);
	}
	if (err->warning[0] == 0) {
		(*cinfo->err->format_message)(cinfo, err->warning);
	}
}

// sg_jpeg_decode decodes a JPEG with 1 or 3 components into 8-bit BGR pixels
// at 1/denom scale. With out == NULL it only reports the output size. It
// returns 1 on success, with warning filled when libjpeg warned after the
// last row, and 0 with message filled on failure.
static int sg_jpeg_decode(const unsigned char *data, unsigned long len, int denom,
		unsigned char *out, size_t out_len, int *width, int *height, char *message, char *warning) {
	struct jpeg_decompress_struct cinfo;
	sg_jpeg_error err;
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = sg_jpeg_fail;
	err.pub.emit_message = sg_jpeg_message;
	err.message[0] = 0;
	err.warning[0] = 0;
	err.rows_done = 0;
	if (setjmp(err.jump)) {
		memcpy(message, err.message, JMSG_LENGTH_MAX);
		jpeg_destroy_decompress(&cinfo);
		return 0;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, (unsigned char *)data, len);
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.num_components != 1 && cinfo.num_components != 3) {
		snprintf(message, JMSG_LENGTH_MAX, "%d colour components", cinfo.num_components);
		jpeg_destroy_decompress(&cinfo);
		return 0;
	}
	cinfo.scale_num = 1;
	cinfo.scale_denom = denom;
	cinfo.out_color_space = JCS_EXT_BGR;
	jpeg_calc_output_dimensions(&cinfo);
	*width = cinfo.output_width;
	*height = cinfo.output_height;
	if (out == NULL) {
		jpeg_destroy_decompress(&cinfo);
		return 1;
	}
	size_t row_len = (size_t)cinfo.output_width * 3;
	if (out_len < row_len * cinfo.output_height) {
		snprintf(message, JMSG_LENGTH_MAX, "output buffer too small");
		jpeg_destroy_decompress(&cinfo);
		return 0;
	}
	jpeg_start_decompress(&cinfo);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = out + row_len * cinfo.output_scanline;
		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	err.rows_done = 1;
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	memcpy(warning, err.warning, JMSG_LENGTH_MAX);
	return 1;
}
*/
import "C"

import (
	"fmt"
	"image"
	"unsafe"

	"gocv.io/x/gocv"
)

// decodeJPEGScaled decodes a JPEG with one or three components into a new BGR Mat
// at 1/denom scale (denom 1, 2, 4 or 8), which the caller must close. Damaged
// data gives ErrCorruptImage. warning is libjpeg's complaint about data after
// the last row, such as a missing end-of-image marker, or "" when it had
// none.
func decodeJPEGScaled(data []byte, denom int) (m gocv.Mat, warning string, err error) {
	var w, h C.int
	msg := (*C.char)(C.malloc(2 * C.JMSG_LENGTH_MAX))
	defer C.free(unsafe.Pointer(msg))
	warn := (*C.char)(unsafe.Add(unsafe.Pointer(msg), C.JMSG_LENGTH_MAX))
	in := (*C.uchar)(unsafe.Pointer(&data[0]))
	if C.sg_jpeg_decode(in, C.ulong(len(data)), C.int(denom), nil, 0, &w, &h, msg, warn) == 0 {
		return gocv.Mat{}, "", fmt.Errorf("decode JPEG: %s: %w", C.GoString(msg), ErrCorruptImage)
	}
	m = gocv.NewMatWithSize(int(h), int(w), gocv.MatTypeCV8UC3)
	pix, err := m.DataPtrUint8()
	if err != nil || len(pix) == 0 {
		m.Close()
		return gocv.Mat{}, "", fmt.Errorf("decode JPEG: no pixel buffer for %dx%d: %v", w, h, err)
	}
	out := (*C.uchar)(unsafe.Pointer(&pix[0]))
	if C.sg_jpeg_decode(in, C.ulong(len(data)), C.int(denom), out, C.size_t(len(pix)), &w, &h, msg, warn) == 0 {
		m.Close()
		return gocv.Mat{}, "", fmt.Errorf("decode JPEG: %s: %w", C.GoString(msg), ErrCorruptImage)
	}
	return m, C.GoString(warn), nil
}

// jpegScale returns the denominator (1, 2, 4 or 8) at which a JPEG of the
// stored size decodes to the smallest image that still has at least the
// target's resolution.
func jpegScale(stored, target image.Point) int {
	long, want := max(stored.X, stored.Y), max(target.X, target.Y)
	denom := 1
	for denom < 8 && (long+2*denom-1)/(2*denom) >= want {
		denom *= 2
	}
	return denom
}

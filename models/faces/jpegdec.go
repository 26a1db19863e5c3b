package faces

// A JPEG that cannot go to dlib as it is (too large, turned by EXIF, or
// grayscale) is decoded here with libjpeg-turbo: it can decode at 1/2, 1/4 or
// 1/8 scale straight from the compressed coefficients: a 12-megapixel photo
// comes down to 1280x960 in 31 to 42 ms, against 40 to 46 ms through OpenCV's
// imdecode and 250 ms through image/jpeg (BenchmarkDecodeJPEG). Like go-face's
// own loader, and unlike OpenCV's imdecode, it treats libjpeg's corrupt-data
// warnings as errors, so a damaged upload is refused instead of being decoded
// with grey holes, whichever path it takes.

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
} sg_jpeg_error;

static void sg_jpeg_fail(j_common_ptr cinfo) {
	sg_jpeg_error *err = (sg_jpeg_error *)cinfo->err;
	(*cinfo->err->format_message)(cinfo, err->message);
	longjmp(err->jump, 1);
}

// libjpeg reports damaged data (level -1) as a warning and goes on with grey
// pixels; other levels are trace messages.
static void sg_jpeg_message(j_common_ptr cinfo, int level) {
	if (level < 0) {
		sg_jpeg_fail(cinfo);
	}
}

// sg_jpeg_decode decodes a JPEG with 1 or 3 components into 8-bit BGR pixels
// at 1/denom scale. With out == NULL it only reports the output size. It
// returns 1 on success, 0 with message filled on failure.
static int sg_jpeg_decode(const unsigned char *data, unsigned long len, int denom,
		unsigned char *out, size_t out_len, int *width, int *height, char *message) {
	struct jpeg_decompress_struct cinfo;
	sg_jpeg_error err;
	cinfo.err = jpeg_std_error(&err.pub);
	err.pub.error_exit = sg_jpeg_fail;
	err.pub.emit_message = sg_jpeg_message;
	err.message[0] = 0;
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
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
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
// data gives ErrCorruptImage.
func decodeJPEGScaled(data []byte, denom int) (gocv.Mat, error) {
	var w, h C.int
	msg := (*C.char)(C.malloc(C.JMSG_LENGTH_MAX))
	defer C.free(unsafe.Pointer(msg))
	in := (*C.uchar)(unsafe.Pointer(&data[0]))
	if C.sg_jpeg_decode(in, C.ulong(len(data)), C.int(denom), nil, 0, &w, &h, msg) == 0 {
		return gocv.Mat{}, fmt.Errorf("decode JPEG: %s: %w", C.GoString(msg), ErrCorruptImage)
	}
	m := gocv.NewMatWithSize(int(h), int(w), gocv.MatTypeCV8UC3)
	pix, err := m.DataPtrUint8()
	if err != nil || len(pix) == 0 {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("decode JPEG: no pixel buffer for %dx%d: %v", w, h, err)
	}
	out := (*C.uchar)(unsafe.Pointer(&pix[0]))
	if C.sg_jpeg_decode(in, C.ulong(len(data)), C.int(denom), out, C.size_t(len(pix)), &w, &h, msg) == 0 {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("decode JPEG: %s: %w", C.GoString(msg), ErrCorruptImage)
	}
	return m, nil
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

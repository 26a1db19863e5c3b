// C interface to OpenCV's WeChat QR code reader (opencv_contrib
// wechat_qrcode), so that Go can call it without C++ exceptions or C++
// memory crossing the boundary.
#ifndef SCENICGATE_QR_WECHAT_H
#define SCENICGATE_QR_WECHAT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void *SGQRReader;

// One decoded code. text is malloc'd and may hold NUL bytes (QR byte mode),
// hence the explicit length.
typedef struct {
    char *text;
    int len;
} SGQRCode;

// The answer to one call. codes is malloc'd (n entries); err is a malloc'd
// message when OpenCV threw, else NULL. Free it with sgqr_result_free.
typedef struct {
    SGQRCode *codes;
    int n;
    char *err;
} SGQRResult;

// sgqr_new returns a reader without the optional CNN models, or NULL with
// *err set (malloc'd) when OpenCV threw.
SGQRReader sgqr_new(char **err);
void sgqr_free(SGQRReader r);
// sgqr_decode reads every QR code in mat, a cv::Mat* of 8-bit pixels with
// 1, 3 (BGR) or 4 (BGRA) channels.
SGQRResult sgqr_decode(SGQRReader r, void *mat);
void sgqr_result_free(SGQRResult res);

#ifdef __cplusplus
}
#endif

#endif

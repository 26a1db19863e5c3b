// Package qr reads the QR codes that visitors hold up to a gate's camera: a
// signed ticket token ("SG1." followed by base45 text) shown on a phone or
// printed on a ticket. It works on the same gocv frames as face detection,
// so a lane needs no second camera.
//
// # Which decoder
//
// OpenCV has two QR readers. objdetect's cv::QRCodeDetector (gocv's
// QRCodeDetector) needs the quirc library to decode, and Debian builds
// OpenCV without it: it finds codes but every decode returns "" and prints
// "Library QUIRC is not linked" to stdout. This package therefore uses
// opencv_contrib's WeChat reader (cv::wechat_qrcode), which Debian ships in
// libopencv-contrib-dev (pulled in by libopencv-dev) and which carries its
// own ZXing-based decoder. It is called through a small C++ shim in this
// package rather than gocv's contrib binding, because that binding (v0.31.0)
// frees the decoded strings with delete[] on pointers into a std::string:
// a code of 15 bytes or fewer (any short URL a visitor might show) aborts the
// process, and every result leaks its corner matrices. The shim copies
// results into malloc'd memory and turns C++ exceptions into Go errors.
//
// The reader runs without WeChat's optional CNN models (they are not packaged
// for Debian): it searches the whole frame at two or three scales. That finds
// a token code held up to a lane camera; see the tests for the sizes, angles
// and noise it has been checked against and the benchmarks for its cost.
package qr

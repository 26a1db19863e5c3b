// Package qr reads the QR codes that visitors hold up to a gate's camera: a
// signed ticket token ("SG1." followed by base45 text) shown on a phone or
// printed on a ticket. It works on the same gocv frames as face detection,
// so a lane needs no second camera.
//
// # Which decoder
//
// OpenCV has two QR readers. objdetect's cv::QRCodeDetector (gocv's
// QRCodeDetector) needs the quirc library to decode, and Debian builds
// OpenCV without it: it finds codes, but every decode returns "" and prints
// "Library QUIRC is not linked" to stdout. This package therefore uses
// opencv_contrib's WeChat reader (cv::wechat_qrcode), which Debian ships in
// libopencv-contrib-dev (a dependency of libopencv-dev) and which carries
// its own ZXing-based decoder.
//
// It is called through a small C++ shim in this package rather than gocv's
// contrib binding. That package does not build against Debian's OpenCV (it
// also wraps xfeatures2d, which Debian leaves out), and its WeChat binding
// (v0.31.0) frees the decoded strings with delete[] on pointers into
// std::string objects it does not own, an invalid free for any text short
// enough to sit inside the string itself, such as a short URL a visitor
// might hold up; it also leaks the corner matrices of every call. The shim
// copies results into malloc'd memory that Go frees, and turns C++
// exceptions into Go errors.
//
// # Cost
//
// The reader runs without WeChat's optional CNN models (Debian does not
// package them), so it searches the whole frame at two or three scales and
// decodes one code a frame. A frame with a code decodes in a few
// milliseconds; a frame without one costs more, because the search goes on
// (tens of milliseconds at 640x480, far more on a noisy picture such as a
// dark lane at night). See BenchmarkDecode. A gate should therefore decode
// QR codes on their own goroutine, taking the newest frame whenever the
// previous decode is done, so that they never hold up face matching.
package qr

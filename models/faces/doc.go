// Package faces turns photos and camera frames into face descriptors: the
// embeddings that ScenicGate stores at enrollment and compares at the gate.
//
// The pipeline has two stages. dlib (through go-face) finds each face and its
// five landmarks; then each configured embedding [Model] describes the face:
// dlib's own ResNet (128 values, euclidean distance), or an ONNX model run by
// OpenCV's DNN module through gocv on a 112x112 chip aligned from the
// landmarks (MobileFaceNet, 192 values; fr-feature, 512; cosine distance).
// dlib cannot tell East-Asian faces apart; the ONNX models can, far better,
// so a site picks its model by measuring it on its own visitors (`gate
// calibrate`). Enrollment computes every installed model, so a site can
// change models without enrolling anyone again.
//
// An [Engine] holds a pool of workers, each with its own copy of the
// models, so that as many images are processed at once as there are
// workers. It accepts JPEG, PNG and WebP bytes ([Engine.Detect],
// [Engine.Enroll]), decoded images ([Engine.DetectImage]) and OpenCV camera
// frames ([Engine.DetectMat], [Engine.LargestFace]), and checks an image's
// size from its header before decoding it, so a hostile upload cannot
// exhaust memory.
//
// # Coordinates
//
// Every rectangle and landmark is given in the coordinates of the upright
// original image: the image as a viewer displays it after applying the JPEG
// EXIF orientation, at its full resolution. Images larger than
// [Config.MaxSide] are scaled down before detection and the results scaled
// back, so callers never see the working resolution. Rectangles are
// half-open like every [image.Rectangle] and may reach past the image's
// edges when a face is cut off ([Face.TouchesBorder]).
//
// # Quality
//
// Each face described from the working image's pixels carries its
// sharpness ([Face.Sharpness]) and an estimate of its pose ([Face.Pose]),
// with either detector, so that enrollment can refuse a blurred or turned
// photo before it becomes a visitor's template.
//
// # Matching
//
// [Model.Distance] compares two descriptors of one model; a smaller distance
// means more alike for every model. Each model carries the gate's measured
// default threshold and margin. This package only produces descriptors;
// matching lives elsewhere.
package faces

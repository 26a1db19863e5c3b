// Package faces turns photos and camera frames into dlib face descriptors: the
// 128-number embeddings that ScenicGate stores at enrollment and compares at
// the gate.
//
// An [Engine] holds a pool of dlib recognizers (through go-face), each with its
// own copy of the models, so that as many images are processed at once as
// there are workers. It accepts JPEG and PNG bytes ([Engine.Detect]), decoded
// images ([Engine.DetectImage]) and OpenCV camera frames ([Engine.DetectMat]),
// and checks an image's size from its header before decoding it, so a
// hostile upload cannot exhaust memory.
//
// # Coordinates
//
// Every rectangle is given in the coordinates of the upright original image:
// the image as a viewer displays it after applying the JPEG EXIF orientation,
// at its full resolution. Images larger than [Config.MaxSide] are scaled down
// before detection and the rectangles scaled back, so callers never see the
// working resolution. Rectangles are half-open like every [image.Rectangle]
// and may reach past the image's edges when a face is cut off
// ([Face.TouchesBorder]).
//
// # Matching
//
// Two descriptors of the same person are usually closer than [DlibThreshold]
// by [Distance]; the gate uses a stricter threshold measured on its own
// photos. This package only produces descriptors; matching lives elsewhere.
package faces

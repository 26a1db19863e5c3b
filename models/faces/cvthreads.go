package faces

// OpenCV runs the ONNX models' layers on a pool of threads, one per core by
// default. The engine's parallelism comes from its workers instead, as with
// OpenBLAS (see DefaultBLASThreads): several calls each spreading over every
// core only wait for each other.

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: -std=c++17
#include "cvthreads.h"
*/
import "C"

// setOpenCVThreads sets how many threads OpenCV uses for each operation, for
// the whole process.
func setOpenCVThreads(n int) { C.sg_cv_set_num_threads(C.int(n)) }

// OpenCVThreads returns the number of threads OpenCV uses for each
// operation.
func OpenCVThreads() int { return int(C.sg_cv_num_threads()) }

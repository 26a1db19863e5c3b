package faces

// dlib computes its network layers as matrix products in OpenBLAS. The
// setting is looked up at run time rather than linked, because Debian lets the
// administrator swap the BLAS library (OpenBLAS, ATLAS, reference BLAS) under
// the same name, and only OpenBLAS has these functions.

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>

static int sg_blas_set_threads(int n) {
	void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
	if (set == NULL) {
		return 0;
	}
	set(n);
	return 1;
}

static int sg_blas_threads(void) {
	int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
	if (get == NULL) {
		return -1;
	}
	return get();
}
*/
import "C"

// setBLASThreads sets the number of OpenBLAS threads for the whole process. It
// reports false when the BLAS library in use is not OpenBLAS.
func setBLASThreads(n int) bool {
	return C.sg_blas_set_threads(C.int(n)) == 1
}

// BLASThreads returns the number of threads OpenBLAS uses for each matrix
// product, or -1 when the BLAS library in use is not OpenBLAS.
func BLASThreads() int {
	return int(C.sg_blas_threads())
}

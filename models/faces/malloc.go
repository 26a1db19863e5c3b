package faces

// dlib, libjpeg and OpenCV allocate and free image-sized buffers for every
// frame. glibc gives each thread that allocates its own arena, up to eight
// per core, and keeps what was freed in each; with Go moving cgo calls
// between threads, a gate would hold tens of megabytes it no longer uses.
// Two arenas are as fast for the engine's one or two workers (measured:
// 46 MB less resident memory at a gate deciding frames, no slower).

/*
#include <malloc.h>

static void sg_limit_arenas(void) { mallopt(M_ARENA_MAX, 2); }
static void sg_trim(void) { malloc_trim(0); }
*/
import "C"

func init() { C.sg_limit_arenas() }

// trimHeap gives back to the system the memory C's heap holds freed: after
// loading models, the parsed model files (measured: 8 MB after loading
// MobileFaceNet, of which its first frames take back 5).
func trimHeap() { C.sg_trim() }

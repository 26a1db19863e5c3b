// The compact first pass of the gallery search: int8 dot products, which
// the compiler turns into SIMD multiply-adds, and from them a lower and an
// upper bound on each stored descriptor's squared distance to the query.
#include "scan.h"

// The scan is built for the widest vector instructions the CPU offers,
// chosen when the program loads: the same binary runs on any x86-64 gate
// computer, and uses AVX2 or AVX-512 where there is one.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SG_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SG_CLONES
#endif

// dot_i8 is the dot product of two int8 vectors, in int32.
static inline int32_t dot_i8(const int8_t *a, const int8_t *b, int n) {
	int32_t s = 0;
	for (int i = 0; i < n; i++) {
		s += (int16_t)a[i] * (int16_t)b[i];
	}
	return s;
}

// sg_scan_i8 scans the slots [lo, hi): for each one of an active ticket it
// bounds the squared distance to the query from the codes (see bounds in
// quant.go), keeps in top the two tickets with the smallest upper bounds, and
// writes to cand the slots whose lower bound is within the current
// second-best upper bound. It returns the number of candidates written, or -1
// when more than cap would have been.
SG_CLONES int sg_scan_i8(const int8_t *codes, const float *scale, const float *l1, const float *norm2,
		const int32_t *owner, const uint8_t *active, int dim, int lo, int hi,
		const int8_t *qcode, float qscale, float ql1, float qnorm2,
		sg_top2 *top, int32_t *cand, float *cand_lower, int cap) {
	int n = 0;
	const float halfdim = 0.5f * (float)dim;
	for (int s = lo; s < hi; s++) {
		int32_t t = owner[s];
		if (t < 0 || !active[t]) {
			continue;
		}
		float ss = scale[s] * qscale;
		float dot = ss * (float)dot_i8(codes + (int64_t)s * dim, qcode, dim);
		// The quantisation error of the dot product, twice (d² = |a|² + |b|²
		// − 2a·b), plus room for float rounding.
		float err = ss * (l1[s] + ql1 + halfdim) + 1e-4f * (norm2[s] + qnorm2) + 1e-6f;
		float approx = norm2[s] + qnorm2 - 2.0f * dot;
		float lower = approx - err, upper = approx + err;
		if (upper < top->u1) {
			if (t != top->t1) {
				top->t2 = top->t1;
				top->u2 = top->u1;
			}
			top->t1 = t;
			top->u1 = upper;
		} else if (upper < top->u2 && t != top->t1) {
			top->t2 = t;
			top->u2 = upper;
		}
		if (lower <= top->u2) {
			if (n == cap) {
				return -1;
			}
			cand[n] = s;
			cand_lower[n] = lower;
			n++;
		}
	}
	return n;
}

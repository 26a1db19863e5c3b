// The compact first pass of the gallery search: the dot product of each
// descriptor's 4-bit code with the query's int8 code, and from it a lower
// and an upper bound on the squared distance (see quant.go). A descriptor
// whose lower bound is within the second-best distance found so far has
// its distance worked out from the values held, which tightens both.
#include "scan.h"

#include <math.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SG_X86 1
#endif

#define SG_INLINE static inline __attribute__((always_inline))

// dot4 is Σ (code+8)·q over cbytes bytes of codes, two values to a byte:
// byte j of each 32 holds the block's value j in its low half and value
// 32+j in its high half.
SG_INLINE int32_t dot4_plain(const uint8_t *c, const int8_t *q, int cbytes) {
	int32_t s = 0;
	for (int b = 0; b < cbytes; b += 32, q += 64) {
		for (int j = 0; j < 32; j++) {
			uint8_t x = c[b + j];
			s += (int16_t)(x & 15) * (int16_t)q[j] + (int16_t)(x >> 4) * (int16_t)q[32 + j];
		}
	}
	return s;
}

#ifdef SG_X86
// The same with AVX2: the halves are unsigned 0 to 15, so maddubs multiplies
// them with the signed query values and adds pairs without saturating
// (2·15·127 < 32767).
__attribute__((target("avx2"))) SG_INLINE int32_t dot4_avx2(const uint8_t *c, const int8_t *q, int cbytes) {
	const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();
	for (int b = 0; b < cbytes; b += 32, q += 64) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(c + b));
		__m256i lo = _mm256_and_si256(x, low);
		__m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
		__m256i p = _mm256_add_epi16(
			_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q)),
			_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q + 32))));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
	}
	__m128i v = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
	v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4e));
	v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xb1));
	return _mm_cvtsi128_si32(v);
}
#endif

// exact is the squared distance from q to the values held, v times step,
// each value as the exact pass computes it, summed in float in another
// order than the exact pass (the bounds allow for the difference).
SG_INLINE float exact_plain(const int16_t *v, float step, const float *q, int dim) {
	float s[4] = {0, 0, 0, 0};
	int i = 0;
	for (; i + 4 <= dim; i += 4) {
		for (int k = 0; k < 4; k++) {
			float d = q[i + k] - step * (float)v[i + k];
			s[k] += d * d;
		}
	}
	for (; i < dim; i++) {
		float d = q[i] - step * (float)v[i];
		s[0] += d * d;
	}
	return (s[0] + s[1]) + (s[2] + s[3]);
}

#ifdef SG_X86
__attribute__((target("avx2"))) SG_INLINE float exact_avx2(const int16_t *v, float step, const float *q, int dim) {
	const __m256 st = _mm256_set1_ps(step);
	__m256 acc = _mm256_setzero_ps();
	int i = 0;
	for (; i + 8 <= dim; i += 8) {
		__m256 x = _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(v + i))));
		__m256 d = _mm256_sub_ps(_mm256_loadu_ps(q + i), _mm256_mul_ps(st, x));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(d, d));
	}
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	float s = _mm_cvtss_f32(h);
	for (; i < dim; i++) {
		float d = q[i] - step * (float)v[i];
		s += d * d;
	}
	return s;
}
#endif

// A header's numbers, as floats.
typedef struct {
	float scale, resid, norm2, reach;
} sg_numbers;

// half_plain is the value of the half h.
SG_INLINE float half_plain(uint16_t h) {
	uint32_t exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
	float f;
	if (exp == 0) {
		f = (float)frac * (1.0f / 16777216.0f); // subnormal: frac·2⁻²⁴, exact
	} else if (exp == 0x1f) {
		f = frac ? NAN : INFINITY;
	} else {
		uint32_t bits = (exp + 127 - 15) << 23 | frac << 13;
		__builtin_memcpy(&f, &bits, sizeof f);
	}
	return h & 0x8000 ? -f : f;
}

float sg_half(uint16_t h) { return half_plain(h); }

SG_INLINE sg_numbers header_plain(const uint8_t *rec) {
	const sg_header *h = (const sg_header *)rec;
	return (sg_numbers){half_plain(h->scale), half_plain(h->resid), half_plain(h->norm2), half_plain(h->reach)};
}

#ifdef SG_X86
// The same with F16C, which every CPU with AVX2 has: the four in one
// instruction.
__attribute__((target("avx2,f16c"))) SG_INLINE sg_numbers header_f16c(const uint8_t *rec) {
	float f[4];
	_mm_storeu_ps(f, _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)rec)));
	return (sg_numbers){f[0], f[1], f[2], f[3]};
}
#endif

#ifdef SG_X86
// bounds4_avx2 writes to out the lower bounds of the four records from rec
// on, as the scan's loop works them out one at a time, with the dot
// products and the bounds' arithmetic of the four done together. Each
// maddubs sum is at most 2·15·127 = 3810 in magnitude, so the sums of up to
// four blocks of 64 values are added in 16 bits before they are widened.
__attribute__((target("avx2,f16c"))) SG_INLINE void bounds4_avx2(const uint8_t *rec, int rbytes, int cbytes,
		const int8_t *q, int32_t qsum, float qscale, float qresid, float qnorm, float qnorm2, float *out) {
	const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
	__m256i acc[4];
	for (int k = 0; k < 4; k++) {
		const uint8_t *c = rec + k * rbytes + sizeof(sg_header);
		__m256i s16 = _mm256_setzero_si256(), s32 = _mm256_setzero_si256();
		for (int b = 0; b < cbytes; b += 32) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(c + b));
			__m256i lo = _mm256_and_si256(x, low);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
			s16 = _mm256_add_epi16(s16, _mm256_add_epi16(
				_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(q + 2 * b))),
				_mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q + 2 * b + 32)))));
			if ((b / 32) % 4 == 3) {
				s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(s16, ones));
				s16 = _mm256_setzero_si256();
			}
		}
		acc[k] = _mm256_add_epi32(s32, _mm256_madd_epi16(s16, ones));
	}
	// Lane by lane: [a0+a1, a2+a3, b0+b1, b2+b3], then the four sums of
	// each half, then the two halves added: [a, b, c, d].
	__m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc[0], acc[1]), _mm256_hadd_epi32(acc[2], acc[3]));
	__m128i dots = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
	__m128 cdot = _mm_cvtepi32_ps(_mm_sub_epi32(dots, _mm_set1_epi32(8 * qsum)));
	// Each header's four numbers, then turned so that each vector holds
	// one number of the four records.
	__m128 scale = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)rec));
	__m128 resid = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(rec + rbytes)));
	__m128 norm2 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(rec + 2 * rbytes)));
	__m128 reach = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(rec + 3 * rbytes)));
	_MM_TRANSPOSE4_PS(scale, resid, norm2, reach);
	const __m128 two = _mm_set1_ps(2.0f), qn2 = _mm_set1_ps(qnorm2);
	__m128 err = _mm_add_ps(_mm_add_ps(
		_mm_mul_ps(two, _mm_add_ps(_mm_mul_ps(reach, _mm_set1_ps(qresid)), _mm_mul_ps(resid, _mm_set1_ps(qnorm)))),
		_mm_mul_ps(_mm_set1_ps(1e-4f), _mm_add_ps(norm2, qn2))), _mm_set1_ps(1e-6f));
	__m128 est = _mm_sub_ps(_mm_add_ps(norm2, qn2),
		_mm_mul_ps(_mm_mul_ps(_mm_mul_ps(two, scale), _mm_set1_ps(qscale)), cdot));
	_mm_storeu_ps(out, _mm_sub_ps(est, err));
}
#endif

// take records ticket t with upper bound u among the two best.
SG_INLINE void take(sg_top2 *top, int32_t t, float u) {
	if (u < top->u1) {
		if (t != top->t1) {
			top->t2 = top->t1;
			top->u2 = top->u1;
		}
		top->t1 = t;
		top->u1 = u;
	} else if (u < top->u2 && t != top->t1) {
		top->t2 = t;
		top->u2 = u;
	}
}

// SG_BLOCK is how many slots the scan bounds before it compares exactly
// those of them that could still be among the two best: their bounds stay
// in the first-level cache, and nothing is written for the others.
#define SG_BLOCK 1024

// SG_SEEDS is how many slots of the first block, those with the smallest
// lower bounds, are compared exactly first: their distances make the
// second-best bound tight from the start.
#define SG_SEEDS 8

// SG_AHEAD is how many slots to be compared exactly have their values
// fetched ahead.
#define SG_AHEAD 3

// compare works out slot s's distance from the values held, records its
// ticket's upper bound in top and, when its lower bound is still within
// the second best, the slot in cand. A slot whose header a half could not
// hold (a NaN scale) is a candidate whatever its distance: float rounding
// at its size is not known. It returns -1 when cand would overflow cap.
SG_INLINE int compare(float (*exact)(const int16_t *, float, const float *, int), int s,
		const uint8_t *records, int rbytes, const int32_t *owner, const int16_t *vals, const float *step,
		int dim, float qnorm2, const float *q, sg_top2 *top, int32_t *cand,
		float *cand_lower, int *n, int cap) {
	sg_numbers h = header_plain(records + (int64_t)s * rbytes);
	float d = exact(vals + (int64_t)s * dim, step[s], q, dim);
	float lower = -INFINITY;
	if (!isnan(h.scale)) {
		float rounding = 1e-4f * (h.norm2 + qnorm2) + 1e-6f;
		take(top, owner[s], d + rounding);
		lower = d - rounding;
	}
	if (lower <= top->u2) {
		if (*n == cap) {
			return -1;
		}
		cand[*n] = s;
		cand_lower[*n] = lower;
		(*n)++;
	}
	return 0;
}

// searched says whether slot s holds a descriptor of an active ticket.
SG_INLINE int searched(const int32_t *owner, const uint8_t *active, int s) {
	int32_t t = owner[s];
	return t >= 0 && active[t];
}

// open says whether a lower bound lets its slot be among the two best
// whose second is u2: the bound is within u2, or not a number (a
// descriptor whose values overflow the bounds' arithmetic), but not +inf,
// which marks a slot already compared.
SG_INLINE int open(float lower, float u2) {
	return !(lower > u2) && lower != INFINITY;
}

// scan is sg_scan_q4 with the dot product, the exact distance, the header's
// reader and, where there is one, the bounds of four records at a time
// given: inlined into one copy per instruction set.
SG_INLINE int scan(int32_t (*dot)(const uint8_t *, const int8_t *, int),
		float (*exact)(const int16_t *, float, const float *, int), sg_numbers (*numbers)(const uint8_t *),
		void (*bounds4)(const uint8_t *, int, int, const int8_t *, int32_t, float, float, float, float, float *),
		const uint8_t *records, int rbytes, const int32_t *owner, const uint8_t *active, int lo, int hi,
		const int16_t *vals, const float *step, int dim,
		const int8_t *qcode, int32_t qsum, float qscale, float qresid, float qnorm2, const float *q,
		sg_top2 *top, float *shared, int32_t *cand, float *cand_lower, int cap) {
	const float qnorm = sqrtf(qnorm2);
	const int cbytes = rbytes - (int)sizeof(sg_header);
	float lower[SG_BLOCK];
	int n = 0;
	for (int b = lo; b < hi; b += SG_BLOCK) {
		const int e = b + SG_BLOCK < hi ? b + SG_BLOCK : hi;
		// Every slot's lower bound from its code, whoever holds it: the
		// few within reach are checked after.
		int s = b;
		if (bounds4) {
			for (; s + 4 <= e; s += 4) {
				const char *ahead = (const char *)records + (int64_t)(s + 16) * rbytes;
				for (int off = 0; off < 4 * rbytes; off += 64) {
					__builtin_prefetch(ahead + off);
				}
				__builtin_prefetch(ahead + 4 * rbytes - 1);
				bounds4(records + (int64_t)s * rbytes, rbytes, cbytes, qcode, qsum, qscale, qresid, qnorm, qnorm2, lower + (s - b));
			}
		}
		for (; s < e; s++) {
			// Records are read a few slots ahead, so that memory is
			// busy while this one is worked on.
			const uint8_t *ahead = records + (int64_t)(s + 16) * rbytes;
			__builtin_prefetch(ahead);
			__builtin_prefetch(ahead + rbytes - 1);
			const uint8_t *rec = records + (int64_t)s * rbytes;
			sg_numbers h = numbers(rec);
			int32_t cdot = dot(rec + sizeof(sg_header), qcode, cbytes) - 8 * qsum;
			float err = 2.0f * (h.reach * qresid + h.resid * qnorm) + 1e-4f * (h.norm2 + qnorm2) + 1e-6f;
			lower[s - b] = h.norm2 + qnorm2 - 2.0f * h.scale * qscale * (float)cdot - err;
		}
		// The other workers' second best bounds this one's too.
		float lim; // the smaller of the two is the one to beat
		__atomic_load(shared, &lim, __ATOMIC_RELAXED);
		if (top->u2 == INFINITY && lim == INFINITY) {
			// Seeds: the searched slots with the smallest lower bounds.
			int seed[SG_SEEDS];
			float seedLower[SG_SEEDS];
			int nseeds = 0;
			for (int s = b; s < e; s++) {
				float l = lower[s - b];
				if (!searched(owner, active, s) || !(nseeds < SG_SEEDS || l < seedLower[nseeds - 1])) {
					continue;
				}
				int i = nseeds < SG_SEEDS ? nseeds++ : SG_SEEDS - 1;
				for (; i > 0 && seedLower[i - 1] > l; i--) {
					seed[i] = seed[i - 1];
					seedLower[i] = seedLower[i - 1];
				}
				seed[i] = s;
				seedLower[i] = l;
			}
			for (int k = 0; k < nseeds; k++) {
				lower[seed[k] - b] = INFINITY;
				if (compare(exact, seed[k], records, rbytes, owner, vals, step, dim, qnorm2, q, top, cand, cand_lower, &n, cap) < 0) {
					return -1;
				}
			}
		}
		// Then the searched slots whose lower bound is within the
		// second-best distance known so far are compared exactly; the
		// values of the next few are fetched while one is compared.
		int ring[SG_AHEAD];
		int head = 0, have = 0, next = b;
		for (;;) {
			for (; have < SG_AHEAD; have++) {
				while (next < e && !(open(lower[next - b], fminf(top->u2, lim)) && searched(owner, active, next))) {
					next++;
				}
				if (next == e) {
					break;
				}
				const char *v = (const char *)(vals + (int64_t)next * dim);
				for (int off = 0; off < 2 * dim; off += 64) {
					__builtin_prefetch(v + off);
				}
				__builtin_prefetch(v + 2 * dim - 1);
				__builtin_prefetch(step + next);
				ring[(head + have) % SG_AHEAD] = next++;
			}
			if (have == 0) {
				break;
			}
			int s = ring[head];
			head = (head + 1) % SG_AHEAD;
			have--;
			// The second-best bound may have tightened since s was queued.
			if (open(lower[s - b], fminf(top->u2, lim)) &&
				compare(exact, s, records, rbytes, owner, vals, step, dim, qnorm2, q, top, cand, cand_lower, &n, cap) < 0) {
				return -1;
			}
		}
		for (float u2 = top->u2; u2 < lim;) {
			if (__atomic_compare_exchange(shared, &lim, &u2, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				break;
			}
		}
	}
	return n;
}

#ifdef SG_X86
__attribute__((target("avx2,f16c"))) static int scan_avx2(const uint8_t *records, int rbytes, const int32_t *owner, const uint8_t *active, int lo, int hi,
		const int16_t *vals, const float *step, int dim,
		const int8_t *qcode, int32_t qsum, float qscale, float qresid, float qnorm2, const float *q,
		sg_top2 *top, float *shared, int32_t *cand, float *cand_lower, int cap) {
	// With the record's length known when compiled, the dot product's
	// loop unrolls: a fifth less time a slot for the models' lengths.
	switch (rbytes) {
	case 8 + 64: // 128 values: dlib
		return scan(dot4_avx2, exact_avx2, header_f16c, bounds4_avx2, records, 8 + 64, owner, active, lo, hi, vals, step, dim,
			qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
	case 8 + 96: // 192 values: MobileFaceNet
		return scan(dot4_avx2, exact_avx2, header_f16c, bounds4_avx2, records, 8 + 96, owner, active, lo, hi, vals, step, dim,
			qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
	}
	return scan(dot4_avx2, exact_avx2, header_f16c, bounds4_avx2, records, rbytes, owner, active, lo, hi, vals, step, dim,
		qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
}
#endif

static int scan_plain(const uint8_t *records, int rbytes, const int32_t *owner, const uint8_t *active, int lo, int hi,
		const int16_t *vals, const float *step, int dim,
		const int8_t *qcode, int32_t qsum, float qscale, float qresid, float qnorm2, const float *q,
		sg_top2 *top, float *shared, int32_t *cand, float *cand_lower, int cap) {
	return scan(dot4_plain, exact_plain, header_plain, NULL, records, rbytes, owner, active, lo, hi, vals, step, dim,
		qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
}

// sg_scan_q4 scans the slots [lo, hi): for each one of an active ticket it
// bounds the squared distance to the query, keeps in top the two tickets
// with the smallest upper bounds, and writes to cand the slots whose lower
// bound is within the current second-best upper bound. *shared is the
// smallest second-best upper bound any worker of the search has found: a
// bound on this share's second best too, read and lowered between blocks,
// so that each worker's finds spare the others comparisons. It returns the
// number of candidates written, or -1 when more than cap would have been.
// It uses AVX2 and F16C where the CPU has them, decided on each call (a cached
// test), unless sg_plain_only is set.
int sg_plain_only;

int sg_scan_q4(const uint8_t *records, int rbytes, const int32_t *owner, const uint8_t *active, int lo, int hi,
		const int16_t *vals, const float *step, int dim,
		const int8_t *qcode, int32_t qsum, float qscale, float qresid, float qnorm2, const float *q,
		sg_top2 *top, float *shared, int32_t *cand, float *cand_lower, int cap) {
#ifdef SG_X86
	if (!sg_plain_only && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")) {
		return scan_avx2(records, rbytes, owner, active, lo, hi, vals, step, dim,
			qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
	}
#endif
	return scan_plain(records, rbytes, owner, active, lo, hi, vals, step, dim,
		qcode, qsum, qscale, qresid, qnorm2, q, top, shared, cand, cand_lower, cap);
}

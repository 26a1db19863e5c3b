#include <stdint.h>

// sg_top2 is the running best and second-best ticket by upper bound.
typedef struct {
	int32_t t1, t2;
	float u1, u2;
} sg_top2;

int sg_scan_i8(const int8_t *codes, const float *scale, const float *l1, const float *norm2,
	const int32_t *owner, const uint8_t *active, int dim, int lo, int hi,
	const int8_t *qcode, float qscale, float ql1, float qnorm2,
	sg_top2 *top, int32_t *cand, float *cand_lower, int cap);

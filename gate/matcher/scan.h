// The compact first pass of the gallery search (scan.c).
#include <stdint.h>

// sg_header starts each slot's record, before its codes: halves (IEEE 754
// binary16), see quant.go.
typedef struct {
	uint16_t scale, resid, norm2, reach;
} sg_header;

typedef struct {
	int32_t t1, t2;
	float u1, u2;
} sg_top2;

int sg_scan_q4(const uint8_t *records, int rbytes, const int32_t *owner, const uint8_t *active, int lo, int hi,
	const int16_t *vals, const float *step, int dim,
	const int8_t *qcode, int32_t qsum, float qscale, float qresid, float qnorm2, const float *q,
	sg_top2 *top, float *shared, int32_t *cand, float *cand_lower, int cap);

// sg_half is the value of a half, as the scan's plain code reads it.
float sg_half(uint16_t h);

// sg_plain_only makes sg_scan_q4 use its plain code on any CPU (for tests).
extern int sg_plain_only;

// The scalar steps of int8 dynamic quantization, shared by the portable loops and the vector
// kernels' tails (Int8Gemm.c, Int8AVX2.c), so that every kernel quantizes and dequantizes with
// the same expressions (the int32 sums and the rows are compared exactly across kernels).
#ifndef EK_INT8_SCALAR_H
#define EK_INT8_SCALAR_H

// max(peak, |r[t]|) over t in [begin, end).
static inline float ek_int8_peak(const float *r, long begin, long end, float peak) {
    for (long t = begin; t < end; t++) {
        float v = r[t] < 0 ? -r[t] : r[t];
        peak = v > peak ? v : peak;
    }
    return peak;
}

// A row's scale from its largest magnitude (1 for a zero row).
static inline float ek_int8_scale(float peak) { return peak > 0 ? peak / 127.0f : 1.0f; }

// One activation: round to nearest even of v / scale (v * inv), plus the zero point 128.
static inline int ek_int8_quantize(float v, float inv) { return (int)__builtin_rintf(v * inv) + 128; }

// y[j0 + l] = (sum[l] - corr[j0 + l]) * (rs * ws[j0 + l]) + bias[j0 + l] for l < 16, j0 + l < n.
static inline void ek_int8_dequant(const int *sum, float *y, long j0, long n, const int *corr, const float *ws, float rs,
                                   const float *bias) {
    for (long l = 0; l < 16 && j0 + l < n; l++)
        y[j0 + l] = (float)(sum[l] - corr[j0 + l]) * (rs * ws[j0 + l]) + (bias ? bias[j0 + l] : 0.0f);
}

#endif

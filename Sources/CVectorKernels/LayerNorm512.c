// LayerNorm forward and backward rows in AVX-512 (masked tails), the forms of
// ElectraKernels/LayerNorm.swift and Backward.swift's layerNormBackward: biased variance,
// x = input (+ residual); the caller splits rows across threads and reduces dGamma/dBeta.
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define LN512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
__mmask16 ln_mask(long left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

LN512 void ek_layernorm_rows_avx512(float *out, const float *input, const float *residual, const float *gamma,
                                    const float *beta, long rows, long n, float eps, float *mean, float *rstd) {
    for (long row = 0; row < rows; row++) {
        const float *x = input + row * n, *res = residual ? residual + row * n : 0;
        float *o = out + row * n;
        __m512 s = _mm512_setzero_ps();
        for (long i = 0; i < n; i += 16) {
            __mmask16 m = ln_mask(n - i);
            __m512 v = _mm512_maskz_loadu_ps(m, x + i);
            if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + i));
            _mm512_mask_storeu_ps(o + i, m, v);
            s = _mm512_add_ps(s, v);
        }
        const float mu = _mm512_reduce_add_ps(s) / (float)n;
        const __m512 muv = _mm512_set1_ps(mu);
        __m512 q = _mm512_setzero_ps();
        for (long i = 0; i < n; i += 16) {
            __mmask16 m = ln_mask(n - i);
            __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, o + i), muv);
            q = _mm512_fmadd_ps(d, d, q);
        }
        const float rs = 1.0f / __builtin_sqrtf(_mm512_reduce_add_ps(q) / (float)n + eps);
        if (mean) mean[row] = mu;
        if (rstd) rstd[row] = rs;
        const __m512 rsv = _mm512_set1_ps(rs);
        for (long i = 0; i < n; i += 16) {
            __mmask16 m = ln_mask(n - i);
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, o + i), muv), rsv);
            _mm512_mask_storeu_ps(o + i, m, _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m, gamma + i), _mm512_maskz_loadu_ps(m, beta + i)));
        }
    }
}

LN512 void ek_layernorm_backward_rows_avx512(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                             const float *residual, const float *gamma, const float *mean,
                                             const float *rstd, long rows, long n) {
    for (long row = 0; row < rows; row++) {
        const float *x = input + row * n, *res = residual ? residual + row * n : 0, *d = dy + row * n;
        float *o = dx + row * n;
        const __m512 muv = _mm512_set1_ps(mean[row]), rsv = _mm512_set1_ps(rstd[row]);
        __m512 sg = _mm512_setzero_ps(), sgx = _mm512_setzero_ps();
        for (long i = 0; i < n; i += 16) {
            __mmask16 m = ln_mask(n - i);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
            if (res) xv = _mm512_add_ps(xv, _mm512_maskz_loadu_ps(m, res + i));
            __m512 xhat = _mm512_maskz_mul_ps(m, _mm512_sub_ps(xv, muv), rsv);
            __m512 dv = _mm512_maskz_loadu_ps(m, d + i);
            __m512 g = _mm512_mul_ps(dv, _mm512_maskz_loadu_ps(m, gamma + i));
            sg = _mm512_add_ps(sg, g);
            sgx = _mm512_fmadd_ps(g, xhat, sgx);
            _mm512_mask_storeu_ps(pgamma + i, m, _mm512_fmadd_ps(dv, xhat, _mm512_maskz_loadu_ps(m, pgamma + i)));
            _mm512_mask_storeu_ps(pbeta + i, m, _mm512_add_ps(dv, _mm512_maskz_loadu_ps(m, pbeta + i)));
        }
        const __m512 mg = _mm512_set1_ps(_mm512_reduce_add_ps(sg) / (float)n);
        const __m512 mgx = _mm512_set1_ps(_mm512_reduce_add_ps(sgx) / (float)n);
        // xhat recomputed rather than stashed, so dx may alias dy.
        for (long i = 0; i < n; i += 16) {
            __mmask16 m = ln_mask(n - i);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
            if (res) xv = _mm512_add_ps(xv, _mm512_maskz_loadu_ps(m, res + i));
            __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(xv, muv), rsv);
            __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, d + i), _mm512_maskz_loadu_ps(m, gamma + i));
            __m512 v = _mm512_mul_ps(rsv, _mm512_sub_ps(_mm512_sub_ps(g, mg), _mm512_mul_ps(xhat, mgx)));
            _mm512_mask_storeu_ps(o + i, m, v);
        }
    }
}

#else
void ek_layernorm_rows_avx512(float *out, const float *input, const float *residual, const float *gamma,
                              const float *beta, long rows, long n, float eps, float *mean, float *rstd) {
    (void)out; (void)input; (void)residual; (void)gamma; (void)beta; (void)rows; (void)n; (void)eps; (void)mean; (void)rstd;
}
void ek_layernorm_backward_rows_avx512(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                       const float *residual, const float *gamma, const float *mean,
                                       const float *rstd, long rows, long n) {
    (void)dx; (void)pgamma; (void)pbeta; (void)dy; (void)input; (void)residual; (void)gamma; (void)mean; (void)rstd; (void)rows; (void)n;
}
#endif

// The Adam-family updates in AVX-512 (masked tails), the same operations in the same order as
// ElectraKernels/OptimizerKernels.swift's lanes (separate multiplies and adds, no FMA), so the
// results are bit-identical to the portable path (tests compare them exactly).
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define A512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl")))
__mmask16 adam_mask(long left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

A512 void ek_adamw_avx512(float *p, const float *g, float *m, float *v, long n, float decay, float beta1,
                          float one_minus_beta1, float beta2, float one_minus_beta2, float neg_step,
                          float bc2_sqrt, float eps) {
    const __m512 d = _mm512_set1_ps(decay), b1 = _mm512_set1_ps(beta1), omb1 = _mm512_set1_ps(one_minus_beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), omb2 = _mm512_set1_ps(one_minus_beta2), ns = _mm512_set1_ps(neg_step);
    const __m512 bc = _mm512_set1_ps(bc2_sqrt), e = _mm512_set1_ps(eps);
    const int lerp_low = one_minus_beta1 < 0.5f;
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = adam_mask(n - i);
        __m512 pv = _mm512_maskz_loadu_ps(k, p + i), gv = _mm512_maskz_loadu_ps(k, g + i);
        __m512 mv = _mm512_maskz_loadu_ps(k, m + i), vv = _mm512_maskz_loadu_ps(k, v + i);
        pv = _mm512_mul_ps(pv, d);
        // torch's lerp: start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w).
        mv = lerp_low ? _mm512_add_ps(mv, _mm512_mul_ps(omb1, _mm512_sub_ps(gv, mv)))
                      : _mm512_sub_ps(gv, _mm512_mul_ps(_mm512_sub_ps(gv, mv), b1));
        vv = _mm512_add_ps(_mm512_mul_ps(vv, b2), _mm512_mul_ps(_mm512_mul_ps(omb2, gv), gv));
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc), e);
        pv = _mm512_add_ps(pv, _mm512_div_ps(_mm512_mul_ps(ns, mv), denom));
        _mm512_mask_storeu_ps(p + i, k, pv);
        _mm512_mask_storeu_ps(m + i, k, mv);
        _mm512_mask_storeu_ps(v + i, k, vv);
    }
}

A512 void ek_electra_adam_avx512(float *p, const float *g, float *m, float *v, long n, float lr, float wd, float beta1,
                                 float one_minus_beta1, float beta2, float one_minus_beta2, float eps) {
    const __m512 b1 = _mm512_set1_ps(beta1), omb1 = _mm512_set1_ps(one_minus_beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), omb2 = _mm512_set1_ps(one_minus_beta2);
    const __m512 e = _mm512_set1_ps(eps), w = _mm512_set1_ps(wd), l = _mm512_set1_ps(lr);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = adam_mask(n - i);
        __m512 pv = _mm512_maskz_loadu_ps(k, p + i), gv = _mm512_maskz_loadu_ps(k, g + i);
        __m512 mv = _mm512_maskz_loadu_ps(k, m + i), vv = _mm512_maskz_loadu_ps(k, v + i);
        mv = _mm512_add_ps(_mm512_mul_ps(b1, mv), _mm512_mul_ps(omb1, gv));
        vv = _mm512_add_ps(_mm512_mul_ps(b2, vv), _mm512_mul_ps(omb2, _mm512_mul_ps(gv, gv)));
        __m512 update = _mm512_div_ps(mv, _mm512_add_ps(_mm512_sqrt_ps(vv), e));
        if (wd != 0) update = _mm512_add_ps(update, _mm512_mul_ps(w, pv));
        pv = _mm512_sub_ps(pv, _mm512_mul_ps(l, update));
        _mm512_mask_storeu_ps(p + i, k, pv);
        _mm512_mask_storeu_ps(m + i, k, mv);
        _mm512_mask_storeu_ps(v + i, k, vv);
    }
}

#else
void ek_adamw_avx512(float *p, const float *g, float *m, float *v, long n, float decay, float beta1,
                     float one_minus_beta1, float beta2, float one_minus_beta2, float neg_step,
                     float bc2_sqrt, float eps) {
    (void)p; (void)g; (void)m; (void)v; (void)n; (void)decay; (void)beta1; (void)one_minus_beta1; (void)beta2;
    (void)one_minus_beta2; (void)neg_step; (void)bc2_sqrt; (void)eps;
}
void ek_electra_adam_avx512(float *p, const float *g, float *m, float *v, long n, float lr, float wd, float beta1,
                            float one_minus_beta1, float beta2, float one_minus_beta2, float eps) {
    (void)p; (void)g; (void)m; (void)v; (void)n; (void)lr; (void)wd; (void)beta1; (void)one_minus_beta1; (void)beta2;
    (void)one_minus_beta2; (void)eps;
}
#endif

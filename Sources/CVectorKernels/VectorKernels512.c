// AVX-512 (F/BW/DQ/VL) forms of the AVX2 kernels in VectorKernels.c: the same polynomials,
// 16 lanes, masked loads and stores for the tails (every element sees the same arithmetic).
// Chosen at run time when CPUFeatures says the CPU and OS support AVX-512.
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

INLINE __m512 ek512_exp(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(88.7f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i ti = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ti, _mm512_set1_epi32(127)), 23));
    __m512 out = _mm512_mul_ps(y, scale);
    __mmask16 below = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    return _mm512_maskz_mov_ps((__mmask16)~below, out);  // 0 below -87.3
}

INLINE __m512 ek512_erf(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(xc, xc);
    __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-1.60960333262415e-02f));
    __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(-1.42647390514189e-02f));
    return _mm512_div_ps(_mm512_mul_ps(xc, p), q);
}

INLINE __m512 ek512_gelu(__m512 x) {
    __m512 half_x = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    __m512 e = ek512_erf(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_fmadd_ps(half_x, e, half_x);
}

INLINE __m512 ek512_gelu_derivative(__m512 x) {
    __m512 cdf = _mm512_fmadd_ps(ek512_erf(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f))),
                                 _mm512_set1_ps(0.5f), _mm512_set1_ps(0.5f));
    __m512 pdf = ek512_exp(_mm512_mul_ps(_mm512_mul_ps(x, x), _mm512_set1_ps(-0.5f)));
    return _mm512_fmadd_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.3989422804014327f)), pdf, cdf);
}

INLINE __mmask16 ek512_tail(long count) { return (__mmask16)((1u << count) - 1); }

AVX512 void ek_gelu_avx512(float *x, const float *bias, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : ek512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
        _mm512_mask_storeu_ps(x + i, m, ek512_gelu(v));
    }
}

// GELU of x (+ bias) rounded straight to bf16 (RNE, as ek_f32_to_bf16_avx512bf16): the input
// of a bf16 product, without writing and re-reading the fp32 activation.
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512bf16")))
void ek_gelu_to_bf16_avx512bf16(const float *x, const float *bias, unsigned short *dst, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : ek512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
        __m256bh b = _mm512_cvtneps_pbh(ek512_gelu(v));
        _mm256_mask_storeu_epi16((void *)(dst + i), m, (__m256i)b);
    }
}

AVX512 void ek_gelu_backward_avx512(const float *x, const float *dy, float *dx, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : ek512_tail(n - i);
        __m512 g = ek512_gelu_derivative(_mm512_maskz_loadu_ps(m, x + i));
        _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), g));
    }
}

AVX512 float ek_exp_shifted_avx512(float *x, long n, float shift) {
    const __m512 s = _mm512_set1_ps(shift);
    __m512 acc = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : ek512_tail(n - i);
        __m512 e = _mm512_maskz_mov_ps(m, ek512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s)));
        _mm512_mask_storeu_ps(x + i, m, e);
        acc = _mm512_add_ps(acc, e);
    }
    return _mm512_reduce_add_ps(acc);
}

#else

void ek_gelu_avx512(float *x, const float *bias, long n) { (void)x; (void)bias; (void)n; }
void ek_gelu_backward_avx512(const float *x, const float *dy, float *dx, long n) { (void)x; (void)dy; (void)dx; (void)n; }
void ek_gelu_to_bf16_avx512bf16(const float *x, const float *bias, unsigned short *dst, long n) { (void)x; (void)bias; (void)dst; (void)n; }
float ek_exp_shifted_avx512(float *x, long n, float shift) { (void)x; (void)n; (void)shift; return 0; }

#endif

// See include/CVectorKernels.h. The polynomials are the ones in ElectraKernels/VectorMath.swift
// (Cephes-style exp, Eigen's rational erf), evaluated with FMA, so results agree with the
// Swift path to rounding (VectorISATests compares them).
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx2,fma")))

INLINE __m256 ek_exp(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(88.7f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic);
    __m256 n = _mm256_sub_ps(t, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i ti = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
    __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ti, _mm256_set1_epi32(127)), 23));
    __m256 out = _mm256_mul_ps(y, scale);
    return _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), out);  // 0 below -87.3
}

INLINE __m256 ek_erf(__m256 x) {
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(xc, xc);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(_mm256_mul_ps(xc, p), q);
}

INLINE __m256 ek_gelu(__m256 x) {
    __m256 half_x = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    __m256 e = ek_erf(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_fmadd_ps(half_x, e, half_x);
}

INLINE __m256 ek_gelu_derivative(__m256 x) {
    __m256 cdf = _mm256_fmadd_ps(ek_erf(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f))),
                                 _mm256_set1_ps(0.5f), _mm256_set1_ps(0.5f));
    __m256 pdf = ek_exp(_mm256_mul_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(-0.5f)));
    return _mm256_fmadd_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.3989422804014327f)), pdf, cdf);
}

// Tails go through a zero-padded 8-lane buffer so every element sees the same arithmetic.
INLINE __m256 ek_load_tail(const float *p, long count) {
    float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (long i = 0; i < count; i++) tmp[i] = p[i];
    return _mm256_loadu_ps(tmp);
}

INLINE void ek_store_tail(float *p, __m256 v, long count) {
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    for (long i = 0; i < count; i++) p[i] = tmp[i];
}

INLINE float ek_hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 void ek_gelu_avx2(float *x, const float *bias, long n) {
    long i = 0;
    if (bias) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(x + i, ek_gelu(_mm256_add_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(bias + i))));
    } else {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, ek_gelu(_mm256_loadu_ps(x + i)));
    }
    if (i < n) {
        __m256 v = ek_load_tail(x + i, n - i);
        if (bias) v = _mm256_add_ps(v, ek_load_tail(bias + i, n - i));
        ek_store_tail(x + i, ek_gelu(v), n - i);
    }
}

AVX2 void ek_gelu_backward_avx2(const float *x, const float *dy, float *dx, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), ek_gelu_derivative(_mm256_loadu_ps(x + i))));
    if (i < n)
        ek_store_tail(dx + i, _mm256_mul_ps(ek_load_tail(dy + i, n - i), ek_gelu_derivative(ek_load_tail(x + i, n - i))), n - i);
}

AVX2 float ek_exp_shifted_avx2(float *x, long n, float shift) {
    const __m256 s = _mm256_set1_ps(shift);
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = ek_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = ek_hsum(acc);
    if (i < n) {
        ek_store_tail(x + i, ek_exp(_mm256_sub_ps(ek_load_tail(x + i, n - i), s)), n - i);
        for (long j = i; j < n; j++) sum += x[j];
    }
    return sum;
}

#else

void ek_gelu_avx2(float *x, const float *bias, long n) { (void)x; (void)bias; (void)n; }
void ek_gelu_backward_avx2(const float *x, const float *dy, float *dx, long n) { (void)x; (void)dy; (void)dx; (void)n; }
float ek_exp_shifted_avx2(float *x, long n, float shift) { (void)x; (void)n; (void)shift; return 0; }

#endif

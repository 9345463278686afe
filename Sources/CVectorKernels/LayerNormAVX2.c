// LayerNorm forward and backward rows in AVX2 + FMA (8 lanes, scalar tails), the same forms
// as LayerNorm512.c for CPUs without AVX-512 (Zen 2/3, client Intel). A release build has no
// -march flags, so without these the Swift loops ran as SSE (forward) and scalar code
// (backward) there.
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define LN2 __attribute__((target("avx2,fma")))

static inline __attribute__((always_inline, target("avx2,fma"))) float ln_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

LN2 void ek_layernorm_rows_avx2(float *out, const float *input, const float *residual, const float *gamma,
                                const float *beta, long rows, long n, float eps, float *mean, float *rstd) {
    const long n8 = n & ~7L;
    for (long row = 0; row < rows; row++) {
        const float *x = input + row * n, *res = residual ? residual + row * n : 0;
        float *o = out + row * n;
        __m256 s = _mm256_setzero_ps();
        float st = 0;
        for (long i = 0; i < n8; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i);
            if (res) v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
            _mm256_storeu_ps(o + i, v);
            s = _mm256_add_ps(s, v);
        }
        for (long i = n8; i < n; i++) {
            float v = x[i] + (res ? res[i] : 0.0f);
            o[i] = v;
            st += v;
        }
        const float mu = (ln_hsum(s) + st) / (float)n;
        const __m256 muv = _mm256_set1_ps(mu);
        __m256 q = _mm256_setzero_ps();
        float qt = 0;
        for (long i = 0; i < n8; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(o + i), muv);
            q = _mm256_fmadd_ps(d, d, q);
        }
        for (long i = n8; i < n; i++) { float d = o[i] - mu; qt += d * d; }
        const float rs = 1.0f / __builtin_sqrtf((ln_hsum(q) + qt) / (float)n + eps);
        if (mean) mean[row] = mu;
        if (rstd) rstd[row] = rs;
        const __m256 rsv = _mm256_set1_ps(rs);
        for (long i = 0; i < n8; i += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(o + i), muv), rsv);
            _mm256_storeu_ps(o + i, _mm256_fmadd_ps(v, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
        }
        for (long i = n8; i < n; i++) o[i] = (o[i] - mu) * rs * gamma[i] + beta[i];
    }
}

LN2 void ek_layernorm_backward_rows_avx2(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                         const float *residual, const float *gamma, const float *mean,
                                         const float *rstd, long rows, long n) {
    const long n8 = n & ~7L;
    for (long row = 0; row < rows; row++) {
        const float *x = input + row * n, *res = residual ? residual + row * n : 0, *d = dy + row * n;
        float *o = dx + row * n;
        const float mu = mean[row], rs = rstd[row];
        const __m256 muv = _mm256_set1_ps(mu), rsv = _mm256_set1_ps(rs);
        __m256 sg = _mm256_setzero_ps(), sgx = _mm256_setzero_ps();
        float sgt = 0, sgxt = 0;
        for (long i = 0; i < n8; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            if (res) xv = _mm256_add_ps(xv, _mm256_loadu_ps(res + i));
            __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(xv, muv), rsv);
            __m256 dv = _mm256_loadu_ps(d + i);
            __m256 g = _mm256_mul_ps(dv, _mm256_loadu_ps(gamma + i));
            sg = _mm256_add_ps(sg, g);
            sgx = _mm256_fmadd_ps(g, xhat, sgx);
            _mm256_storeu_ps(pgamma + i, _mm256_fmadd_ps(dv, xhat, _mm256_loadu_ps(pgamma + i)));
            _mm256_storeu_ps(pbeta + i, _mm256_add_ps(dv, _mm256_loadu_ps(pbeta + i)));
        }
        for (long i = n8; i < n; i++) {
            float xhat = (x[i] + (res ? res[i] : 0.0f) - mu) * rs, g = d[i] * gamma[i];
            sgt += g;
            sgxt += g * xhat;
            pgamma[i] += d[i] * xhat;
            pbeta[i] += d[i];
        }
        const float mgs = (ln_hsum(sg) + sgt) / (float)n, mgxs = (ln_hsum(sgx) + sgxt) / (float)n;
        const __m256 mg = _mm256_set1_ps(mgs), mgx = _mm256_set1_ps(mgxs);
        // xhat recomputed rather than stashed, so dx may alias dy.
        for (long i = 0; i < n8; i += 8) {
            __m256 xv = _mm256_loadu_ps(x + i);
            if (res) xv = _mm256_add_ps(xv, _mm256_loadu_ps(res + i));
            __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(xv, muv), rsv);
            __m256 g = _mm256_mul_ps(_mm256_loadu_ps(d + i), _mm256_loadu_ps(gamma + i));
            _mm256_storeu_ps(o + i, _mm256_mul_ps(rsv, _mm256_sub_ps(_mm256_sub_ps(g, mg), _mm256_mul_ps(xhat, mgx))));
        }
        for (long i = n8; i < n; i++) {
            float xhat = (x[i] + (res ? res[i] : 0.0f) - mu) * rs;
            o[i] = rs * (d[i] * gamma[i] - mgs - xhat * mgxs);
        }
    }
}

#else
void ek_layernorm_rows_avx2(float *out, const float *input, const float *residual, const float *gamma,
                            const float *beta, long rows, long n, float eps, float *mean, float *rstd) {
    (void)out; (void)input; (void)residual; (void)gamma; (void)beta; (void)rows; (void)n; (void)eps; (void)mean; (void)rstd;
}
void ek_layernorm_backward_rows_avx2(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                     const float *residual, const float *gamma, const float *mean,
                                     const float *rstd, long rows, long n) {
    (void)dx; (void)pgamma; (void)pbeta; (void)dy; (void)input; (void)residual; (void)gamma; (void)mean; (void)rstd; (void)rows; (void)n;
}
#endif

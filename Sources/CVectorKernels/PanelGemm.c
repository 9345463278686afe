// fp32 products for few rows against weights packed once into panels of 16 outputs
// ([k][16] floats each, zero-padded past n): y[i, j] = bias[j] + Σ_t x[i, t] W[j, t].
// Why: with few rows (one short request), OpenBLAS repacks the whole weight on every call
// (sgemm_itcopy was 32% of a B1 L16 forward, the kernel 33%); packed once, the weights are
// streamed straight into FMAs. Used below a row count measured per ISA (Gemm.swift).
#include "CVectorKernels.h"
#include <string.h>

void ek_pack_panels_f32(const float *w, long n, long k, float *panels) {
    const long blocks = (n + 15) / 16;
    memset(panels, 0, (size_t)(blocks * 16 * k) * sizeof(float));
    for (long j = 0; j < n; j++) {
        float *dst = panels + (j / 16) * 16 * k + (j % 16);
        for (long t = 0; t < k; t++) dst[t * 16] = w[j * k + t];
    }
}

void ek_panels_portable(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                        long block_end, const float *bias, float *y, long n) {
    for (long i = 0; i < m; i++)
        for (long b = block_begin; b < block_end; b++) {
            float acc[16];
            for (int l = 0; l < 16; l++) acc[l] = 0;
            const float *p = panels + b * 16 * k;
            for (long t = 0; t < k; t++)
                for (int l = 0; l < 16; l++) acc[l] += x[i * ldx + t] * p[t * 16 + l];
            for (long l = 0; l < 16 && b * 16 + l < n; l++) y[i * n + b * 16 + l] = acc[l] + (bias ? bias[b * 16 + l] : 0.0f);
        }
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define P512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

#define P512_STORE(acc, row, j0)                                                                  \
    do {                                                                                          \
        __mmask16 mk_ = n - (j0) >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - (j0))) - 1); \
        __m512 b_ = bias ? _mm512_maskz_loadu_ps(mk_, bias + (j0)) : _mm512_setzero_ps();         \
        _mm512_mask_storeu_ps(y + (row) * n + (j0), mk_, _mm512_add_ps(acc, b_));                \
    } while (0)

// 4 rows x 4 panels per step (16 accumulators): each k, 4 panel loads and 4 broadcasts feed
// 16 FMAs. Tails: 1 row x 4 panels, then 1 row x 1 panel.
P512 void ek_panels_avx512(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                           long block_end, const float *bias, float *y, long n) {
    long b = block_begin;
    for (; b + 4 <= block_end; b += 4) {
        const float *p0 = panels + b * 16 * k, *p1 = p0 + 16 * k, *p2 = p1 + 16 * k, *p3 = p2 + 16 * k;
        long i = 0;
        for (; i + 4 <= m; i += 4) {
            __m512 c[4][4];
            for (int r = 0; r < 4; r++) for (int q = 0; q < 4; q++) c[r][q] = _mm512_setzero_ps();
            const float *x0 = x + i * ldx;
            for (long t = 0; t < k; t++) {
                __m512 w0 = _mm512_loadu_ps(p0 + t * 16), w1 = _mm512_loadu_ps(p1 + t * 16);
                __m512 w2 = _mm512_loadu_ps(p2 + t * 16), w3 = _mm512_loadu_ps(p3 + t * 16);
                for (int r = 0; r < 4; r++) {
                    __m512 a = _mm512_set1_ps(x0[r * ldx + t]);
                    c[r][0] = _mm512_fmadd_ps(a, w0, c[r][0]); c[r][1] = _mm512_fmadd_ps(a, w1, c[r][1]);
                    c[r][2] = _mm512_fmadd_ps(a, w2, c[r][2]); c[r][3] = _mm512_fmadd_ps(a, w3, c[r][3]);
                }
            }
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++) P512_STORE(c[r][q], i + r, (b + q) * 16);
        }
        for (; i < m; i++) {
            __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
            for (long t = 0; t < k; t++) {
                __m512 a = _mm512_set1_ps(x[i * ldx + t]);
                c0 = _mm512_fmadd_ps(a, _mm512_loadu_ps(p0 + t * 16), c0); c1 = _mm512_fmadd_ps(a, _mm512_loadu_ps(p1 + t * 16), c1);
                c2 = _mm512_fmadd_ps(a, _mm512_loadu_ps(p2 + t * 16), c2); c3 = _mm512_fmadd_ps(a, _mm512_loadu_ps(p3 + t * 16), c3);
            }
            P512_STORE(c0, i, b * 16); P512_STORE(c1, i, (b + 1) * 16); P512_STORE(c2, i, (b + 2) * 16); P512_STORE(c3, i, (b + 3) * 16);
        }
    }
    for (; b < block_end; b++) {
        const float *p = panels + b * 16 * k;
        for (long i = 0; i < m; i++) {
            __m512 c0 = _mm512_setzero_ps();
            for (long t = 0; t < k; t++) c0 = _mm512_fmadd_ps(_mm512_set1_ps(x[i * ldx + t]), _mm512_loadu_ps(p + t * 16), c0);
            P512_STORE(c0, i, b * 16);
        }
    }
}

#define P256 __attribute__((target("avx2,fma")))

// 4 rows x 1 panel (two 8-wide halves) per step: 8 accumulators.
P256 void ek_panels_avx2(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                         long block_end, const float *bias, float *y, long n) {
    for (long b = block_begin; b < block_end; b++) {
        const float *p = panels + b * 16 * k;
        const long j0 = b * 16;
        float tmp[16];
        for (long i = 0; i < m; i += 4) {
            const long rows = m - i < 4 ? m - i : 4;
            __m256 lo[4], hi[4];
            for (int r = 0; r < 4; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
            for (long t = 0; t < k; t++) {
                __m256 wl = _mm256_loadu_ps(p + t * 16), wh = _mm256_loadu_ps(p + t * 16 + 8);
                for (int r = 0; r < rows; r++) {
                    __m256 a = _mm256_set1_ps(x[(i + r) * ldx + t]);
                    lo[r] = _mm256_fmadd_ps(a, wl, lo[r]);
                    hi[r] = _mm256_fmadd_ps(a, wh, hi[r]);
                }
            }
            for (int r = 0; r < rows; r++) {
                _mm256_storeu_ps(tmp, lo[r]);
                _mm256_storeu_ps(tmp + 8, hi[r]);
                for (long l = 0; l < 16 && j0 + l < n; l++) y[(i + r) * n + j0 + l] = tmp[l] + (bias ? bias[j0 + l] : 0.0f);
            }
        }
    }
}

#else
void ek_panels_avx512(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                      long block_end, const float *bias, float *y, long n) {
    ek_panels_portable(x, m, k, ldx, panels, block_begin, block_end, bias, y, n);
}
void ek_panels_avx2(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                    long block_end, const float *bias, float *y, long n) {
    ek_panels_portable(x, m, k, ldx, panels, block_begin, block_end, bias, y, n);
}
#endif

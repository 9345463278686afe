// int8 products for dynamic quantization (ElectraKernels/Int8.swift): u8 activations (per-row
// scale, zero point 128) times s8 weights (per-output-channel scale, symmetric), int32 sums.
// Weights are packed once into blocks of 16 outputs x 4 consecutive k (64 bytes), the layout
// AVX512-VNNI's vpdpbusd consumes: one instruction adds 4 products into each of 16 int32 lanes.
// The AVX2 kernel (Int8AVX2.c) has its own layout.
#include "CVectorKernels.h"
#include "Int8Common.h"
#include <string.h>

void ek_pack_s8_vnni(const signed char *w, long n, long k, signed char *packed) {
    const long kp = (k + 3) & ~3L, blocks = (n + 15) / 16;
    memset(packed, 0, (size_t)(blocks * 16 * kp));
    for (long j = 0; j < n; j++) {
        signed char *dst = packed + (j / 16) * 16 * kp + (j % 16) * 4;
        for (long t = 0; t < k; t++) dst[(t / 4) * 64 + (t % 4)] = w[j * k + t];
    }
}

void ek_quantize_rows_u8(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales) {
    for (long i = 0; i < m; i++) {
        const float *r = x + i * ldx;
        float s = ek_int8_scale(ek_int8_peak(r, 0, k, 0)), inv = 1.0f / s;
        unsigned char *o = a + i * kp;
        for (long t = 0; t < k; t++) o[t] = (unsigned char)ek_int8_quantize(r[t], inv);
        for (long t = k; t < kp; t++) o[t] = 128;
        scales[i] = s;
    }
}

// The 16 sums of one row against one block of 16 outputs.
static void ek_block_portable(const unsigned char *r, long kp, const signed char *w, int *out) {
    for (long lane = 0; lane < 16; lane++) {
        int sum = 0;
        for (long g = 0; g < kp / 4; g++)
            for (int q = 0; q < 4; q++) sum += (int)r[g * 4 + q] * (int)w[g * 64 + lane * 4 + q];
        out[lane] = sum;
    }
}

static void ek_tile_portable(const void *a, long lda, long kp, const signed char *w, int rows, int (*out)[16]) {
    for (int r = 0; r < rows; r++) ek_block_portable((const unsigned char *)a + r * lda, kp, w, out[r]);
}

void ek_int8_run_tiles(ek_int8_tile_fn tile, ek_int8_dequant_fn dequant, const void *a, long activation_bytes, long m,
                       long kp, long lda, const signed char *packed, long block_begin, long block_end, int *c, long ldc,
                       const int *corr, const float *ws, const float *rs, const float *bias, float *y, long n) {
    int out[6][16];
    const char *rows0 = (const char *)a;
    for (long i0 = 0; i0 < m; i0 += 48) {
        const long i1 = i0 + 48 < m ? i0 + 48 : m;
        for (long b = block_begin; b < block_end; b++) {
            const signed char *w = packed + b * 16 * kp;
            for (long i = i0; i < i1; i += 6) {
                const int rows = i1 - i < 6 ? (int)(i1 - i) : 6;
                tile(rows0 + i * lda * activation_bytes, lda, kp, w, rows, out);
                for (int r = 0; r < rows; r++) {
                    if (y) dequant(out[r], y + (i + r) * n, b * 16, n, corr, ws, rs[i + r], bias);
                    else memcpy(c + (i + r) * ldc + b * 16, out[r], sizeof out[r]);
                }
            }
        }
    }
}

void ek_gemm_u8s8_portable(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                           long block_begin, long block_end, int *c, long ldc) {
    ek_int8_run_tiles(ek_tile_portable, NULL, a, 1, m, kp, lda, packed, block_begin, block_end, c, ldc, NULL, NULL, NULL,
                      NULL, NULL, 0);
}

void ek_qgemm_portable(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                       long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                       float *y, long n) {
    ek_int8_run_tiles(ek_tile_portable, ek_int8_dequant, a, 1, m, kp, kp, packed, block_begin, block_end, NULL, 0, corr,
                      ws, rs, bias, y, n);
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define Q512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))

Q512 void ek_quantize_rows_u8_avx512(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales) {
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    for (long i = 0; i < m; i++) {
        const float *r = x + i * ldx;
        __m512 pk = _mm512_setzero_ps();
        for (long t = 0; t < k; t += 16) {
            __mmask16 mk = k - t >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - t)) - 1);
            pk = _mm512_max_ps(pk, _mm512_and_ps(_mm512_maskz_loadu_ps(mk, r + t), sign));
        }
        float peak = _mm512_reduce_max_ps(pk);
        float s = ek_int8_scale(peak);
        __m512 inv = _mm512_set1_ps(1.0f / s);
        unsigned char *o = a + i * kp;
        for (long t = 0; t < k; t += 16) {
            __mmask16 mk = k - t >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - t)) - 1);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, r + t), inv)),
                                         _mm512_set1_epi32(128));
            _mm_mask_storeu_epi8(o + t, mk, _mm512_cvtepi32_epi8(q));
        }
        for (long t = k; t < kp; t++) o[t] = 128;
        scales[i] = s;
    }
}

// Dequantize 16 sums of row i, block starting at column j0, and store the columns below n.
#define Q512_STORE(acc, row, j0)                                                                     \
    do {                                                                                             \
        __mmask16 mk_ = n - (j0) >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - (j0))) - 1);     \
        __m512 f_ = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, _mm512_maskz_loadu_epi32(mk_, corr + (j0)))); \
        __m512 s_ = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk_, ws + (j0)), _mm512_set1_ps(rs[row]));    \
        __m512 b_ = bias ? _mm512_maskz_loadu_ps(mk_, bias + (j0)) : _mm512_setzero_ps();            \
        _mm512_mask_storeu_ps(y + (row) * n + (j0), mk_, _mm512_fmadd_ps(f_, s_, b_));               \
    } while (0)

// The VNNI product with the dequantization fused into the stores (no int32 matrix in
// memory). Rows in tiles of 64 (their u8 rows stay in L1 while every block of this thread's
// range passes), 4 rows x 2 blocks per step: 8 accumulators, one 32-bit broadcast per row and
// two 64-byte weight loads per group of 4 k.
Q512 void ek_qgemm_avx512vnni(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                              long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                              float *y, long n) {
    const long groups = kp / 4;
    for (long i0 = 0; i0 < m; i0 += 64) {
        const long i1 = i0 + 64 < m ? i0 + 64 : m;
        for (long b = block_begin; b < block_end; b += 2) {
            const int two = b + 1 < block_end;
            const signed char *w0 = packed + b * 16 * kp, *w1 = two ? w0 + 16 * kp : w0;
            const long j0 = b * 16, j1 = j0 + 16;
            long i = i0;
            for (; i + 4 <= i1; i += 4) {
                __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                const unsigned char *r0 = a + i * kp;
                for (long g = 0; g < groups; g++) {
                    __m512i x0 = _mm512_loadu_si512(w0 + g * 64), x1 = _mm512_loadu_si512(w1 + g * 64);
                    int v0, v1, v2, v3;
                    memcpy(&v0, r0 + g * 4, 4); memcpy(&v1, r0 + kp + g * 4, 4);
                    memcpy(&v2, r0 + 2 * kp + g * 4, 4); memcpy(&v3, r0 + 3 * kp + g * 4, 4);
                    __m512i a0 = _mm512_set1_epi32(v0), a1 = _mm512_set1_epi32(v1), a2 = _mm512_set1_epi32(v2), a3 = _mm512_set1_epi32(v3);
                    c00 = _mm512_dpbusd_epi32(c00, a0, x0); c01 = _mm512_dpbusd_epi32(c01, a0, x1);
                    c10 = _mm512_dpbusd_epi32(c10, a1, x0); c11 = _mm512_dpbusd_epi32(c11, a1, x1);
                    c20 = _mm512_dpbusd_epi32(c20, a2, x0); c21 = _mm512_dpbusd_epi32(c21, a2, x1);
                    c30 = _mm512_dpbusd_epi32(c30, a3, x0); c31 = _mm512_dpbusd_epi32(c31, a3, x1);
                }
                Q512_STORE(c00, i, j0); Q512_STORE(c10, i + 1, j0); Q512_STORE(c20, i + 2, j0); Q512_STORE(c30, i + 3, j0);
                if (two) { Q512_STORE(c01, i, j1); Q512_STORE(c11, i + 1, j1); Q512_STORE(c21, i + 2, j1); Q512_STORE(c31, i + 3, j1); }
            }
            for (; i < i1; i++) {
                __m512i c0 = _mm512_setzero_si512(), c1 = c0;
                for (long g = 0; g < groups; g++) {
                    int v;
                    memcpy(&v, a + i * kp + g * 4, 4);
                    __m512i av = _mm512_set1_epi32(v);
                    c0 = _mm512_dpbusd_epi32(c0, av, _mm512_loadu_si512(w0 + g * 64));
                    c1 = _mm512_dpbusd_epi32(c1, av, _mm512_loadu_si512(w1 + g * 64));
                }
                Q512_STORE(c0, i, j0);
                if (two) Q512_STORE(c1, i, j1);
            }
        }
    }
}

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// Rows in fours, output blocks in pairs: 8 accumulators, each k-group one 32-bit broadcast
// per row and two 64-byte weight loads.
VNNI void ek_gemm_u8s8_avx512vnni(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                                  long block_begin, long block_end, int *c, long ldc) {
    const long groups = kp / 4;
    for (long b = block_begin; b < block_end; b += 2) {
        const int two = b + 1 < block_end;
        const signed char *w0 = packed + b * 16 * kp, *w1 = two ? w0 + 16 * kp : w0;
        long i = 0;
        for (; i + 4 <= m; i += 4) {
            __m512i c00 = _mm512_setzero_si512(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            const unsigned char *r0 = a + i * lda, *r1 = r0 + lda, *r2 = r1 + lda, *r3 = r2 + lda;
            for (long g = 0; g < groups; g++) {
                __m512i x0 = _mm512_loadu_si512(w0 + g * 64), x1 = _mm512_loadu_si512(w1 + g * 64);
                int v0, v1, v2, v3;
                memcpy(&v0, r0 + g * 4, 4); memcpy(&v1, r1 + g * 4, 4); memcpy(&v2, r2 + g * 4, 4); memcpy(&v3, r3 + g * 4, 4);
                __m512i a0 = _mm512_set1_epi32(v0), a1 = _mm512_set1_epi32(v1), a2 = _mm512_set1_epi32(v2), a3 = _mm512_set1_epi32(v3);
                c00 = _mm512_dpbusd_epi32(c00, a0, x0); c01 = _mm512_dpbusd_epi32(c01, a0, x1);
                c10 = _mm512_dpbusd_epi32(c10, a1, x0); c11 = _mm512_dpbusd_epi32(c11, a1, x1);
                c20 = _mm512_dpbusd_epi32(c20, a2, x0); c21 = _mm512_dpbusd_epi32(c21, a2, x1);
                c30 = _mm512_dpbusd_epi32(c30, a3, x0); c31 = _mm512_dpbusd_epi32(c31, a3, x1);
            }
            int *o = c + i * ldc + b * 16;
            _mm512_storeu_si512(o, c00); _mm512_storeu_si512(o + ldc, c10);
            _mm512_storeu_si512(o + 2 * ldc, c20); _mm512_storeu_si512(o + 3 * ldc, c30);
            if (two) {
                _mm512_storeu_si512(o + 16, c01); _mm512_storeu_si512(o + ldc + 16, c11);
                _mm512_storeu_si512(o + 2 * ldc + 16, c21); _mm512_storeu_si512(o + 3 * ldc + 16, c31);
            }
        }
        for (; i < m; i++) {
            __m512i c0 = _mm512_setzero_si512(), c1 = c0;
            const unsigned char *r = a + i * lda;
            for (long g = 0; g < groups; g++) {
                int v;
                memcpy(&v, r + g * 4, 4);
                __m512i av = _mm512_set1_epi32(v);
                c0 = _mm512_dpbusd_epi32(c0, av, _mm512_loadu_si512(w0 + g * 64));
                c1 = _mm512_dpbusd_epi32(c1, av, _mm512_loadu_si512(w1 + g * 64));
            }
            _mm512_storeu_si512(c + i * ldc + b * 16, c0);
            if (two) _mm512_storeu_si512(c + i * ldc + b * 16 + 16, c1);
        }
    }
}

#else
void ek_quantize_rows_u8_avx512(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales) {
    ek_quantize_rows_u8(x, m, k, ldx, a, kp, scales);
}
EK_INT8_PORTABLE_STANDINS(ek_gemm_u8s8_avx512vnni, ek_qgemm_avx512vnni)
#endif

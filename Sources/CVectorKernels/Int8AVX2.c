// int8 products on AVX2 without VNNI (ElectraKernels/Int8.swift). vpmaddwd multiplies 16 int16
// pairs and adds each pair into an int32 lane: exact, and on a Zen 3 it issues twice per
// cycle like an FMA, so with 16 products per instruction against an FMA's 8 it can double the
// fp32 rate. (vpmaddubsw would do 32 u8 x s8 products but saturates int16 on real activations.)
// The activations are quantized straight to int16 (the u8 values 0..255, zero point 128), so
// a row's k-pair is one 32-bit broadcast; weights stay s8 and are widened as they are loaded.
//
// Weight layout: blocks of 16 outputs; per pair of k (2p, 2p + 1), 32 bytes: outputs 0-7 as
// (w[j, 2p], w[j, 2p + 1]) then outputs 8-15; zero padded in k (to kp) and n (to 16).
#include "CVectorKernels.h"
#include "Int8Common.h"
#include <string.h>

void ek_pack_s8_avx2(const signed char *w, long n, long k, signed char *packed) {
    const long kp = (k + 3) & ~3L, blocks = (n + 15) / 16;
    memset(packed, 0, (size_t)(blocks * 16 * kp));
    for (long j = 0; j < n; j++) {
        signed char *dst = packed + (j / 16) * 16 * kp + (j % 16) * 2;
        for (long t = 0; t < k; t++) dst[(t / 2) * 32 + (t % 2)] = w[j * k + t];
    }
}

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define AVX2I __attribute__((target("avx2,fma")))

// One row's quantized values as int16 (round to nearest even of x / scale, plus 128; the same
// as ek_quantize_rows_u8), 16 at a time into `put`, the tail and the padding to kp scalar.
#define EK_QUANTIZE_ROW_AVX2(r, k, kp, o, scale_out, PUT16)                                        \
    do {                                                                                          \
        const __m256 sign_ = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));                  \
        __m256 pk_ = _mm256_setzero_ps();                                                         \
        long t_ = 0;                                                                              \
        for (; t_ + 8 <= (k); t_ += 8) pk_ = _mm256_max_ps(pk_, _mm256_and_ps(_mm256_loadu_ps((r) + t_), sign_)); \
        float lanes_[8];                                                                          \
        _mm256_storeu_ps(lanes_, pk_);                                                            \
        const float s_ = ek_int8_scale(ek_int8_peak((r), t_, (k), ek_int8_peak(lanes_, 0, 8, 0))), inv_ = 1.0f / s_; \
        const __m256 vinv_ = _mm256_set1_ps(inv_);                                                \
        const __m256i zero_ = _mm256_set1_epi32(128);                                             \
        for (t_ = 0; t_ + 16 <= (k); t_ += 16) {                                                  \
            __m256i q0_ = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps((r) + t_), vinv_)), zero_); \
            __m256i q1_ = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps((r) + t_ + 8), vinv_)), zero_); \
            /* packus interleaves 128-bit halves; the permute puts 0-7 before 8-15. */            \
            __m256i q_ = _mm256_permute4x64_epi64(_mm256_packus_epi32(q0_, q1_), 0xD8);          \
            PUT16((o) + t_, q_);                                                                  \
        }                                                                                         \
        for (; t_ < (k); t_++) (o)[t_] = ek_int8_quantize((r)[t_], inv_);                         \
        for (t_ = (k); t_ < (kp); t_++) (o)[t_] = 128;                                            \
        (scale_out) = s_;                                                                         \
    } while (0)

#define EK_PUT16_U16(dst, q) _mm256_storeu_si256((__m256i *)(dst), (q))
#define EK_PUT16_U8(dst, q) \
    _mm_storeu_si128((__m128i *)(dst), _mm_packus_epi16(_mm256_castsi256_si128(q), _mm256_extracti128_si256((q), 1)))

AVX2I void ek_quantize_rows_u16_avx2(const float *x, long m, long k, long ldx, unsigned short *a, long kp, float *scales) {
    for (long i = 0; i < m; i++) EK_QUANTIZE_ROW_AVX2(x + i * ldx, k, kp, a + i * kp, scales[i], EK_PUT16_U16);
}

// The u8 rows AVX-VNNI multiplies (Int8AVXVNNI.c).
AVX2I void ek_quantize_rows_u8_avx2(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales) {
    for (long i = 0; i < m; i++) EK_QUANTIZE_ROW_AVX2(x + i * ldx, k, kp, a + i * kp, scales[i], EK_PUT16_U8);
}

// ROWS rows of int16 activations (row stride lda) against one 16-output block: out[r][lane].
// 2 x ROWS accumulators; per k-pair two widened weight loads and ROWS 32-bit broadcasts.
AVX2I static inline __attribute__((always_inline)) void
ek_tile_avx2(const unsigned short *a, long lda, long pairs, const signed char *w, const int rows, int (*out)[16]) {
    __m256i lo[6], hi[6];
    for (int r = 0; r < rows; r++) lo[r] = hi[r] = _mm256_setzero_si256();
    for (long p = 0; p < pairs; p++) {
        const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + p * 32)));
        const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + p * 32 + 16)));
        for (int r = 0; r < rows; r++) {
            int v;
            memcpy(&v, a + r * lda + 2 * p, 4);
            const __m256i av = _mm256_set1_epi32(v);
            lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(av, w0));
            hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(av, w1));
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_si256((__m256i *)out[r], lo[r]);
        _mm256_storeu_si256((__m256i *)(out[r] + 8), hi[r]);
    }
}

// The tile for ek_int8_run_tiles: the 6-row form for full tiles, the shorter ones for the rest.
AVX2I static void ek_tile_u16_avx2(const void *a, long lda, long kp, const signed char *w, int rows, int (*out)[16]) {
    EK_INT8_TILE_BY_ROWS(ek_tile_avx2, (const unsigned short *)a, lda, kp / 2, w, rows, out);
}

// y[i, j0 ..< j0 + 16] = (sum - corr[j]) * (rs * ws[j]) + bias[j], the columns below n.
AVX2I void ek_int8_dequant_avx2(const int *sum, float *y, long j0, long n, const int *corr, const float *ws, float rs,
                                const float *bias) {
    if (n - j0 >= 16) {
        const __m256 vrs = _mm256_set1_ps(rs);
        for (int h = 0; h < 16; h += 8) {
            __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(sum + h)),
                                                           _mm256_loadu_si256((const __m256i *)(corr + j0 + h))));
            __m256 s = _mm256_mul_ps(_mm256_loadu_ps(ws + j0 + h), vrs);
            __m256 b = bias ? _mm256_loadu_ps(bias + j0 + h) : _mm256_setzero_ps();
            _mm256_storeu_ps(y + j0 + h, _mm256_fmadd_ps(f, s, b));
        }
        return;
    }
    ek_int8_dequant(sum, y, j0, n, corr, ws, rs, bias);
}

void ek_gemm_u16s8_avx2(const unsigned short *a, long m, long kp, long lda, const signed char *packed,
                        long block_begin, long block_end, int *c, long ldc) {
    ek_int8_run_tiles(ek_tile_u16_avx2, NULL, a, 2, m, kp, lda, packed, block_begin, block_end, c, ldc, NULL, NULL, NULL,
                      NULL, NULL, 0);
}

void ek_qgemm_u16s8_avx2(const unsigned short *a, long m, long kp, const signed char *packed, long block_begin,
                         long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                         float *y, long n) {
    ek_int8_run_tiles(ek_tile_u16_avx2, ek_int8_dequant_avx2, a, 2, m, kp, kp, packed, block_begin, block_end, NULL, 0,
                      corr, ws, rs, bias, y, n);
}

#else
// Where the AVX2 code is not built: the same layout's sums in plain C.
static void ek_tile_u16_portable(const void *a, long lda, long kp, const signed char *w, int rows, int (*out)[16]) {
    const unsigned short *x = (const unsigned short *)a;
    for (int r = 0; r < rows; r++)
        for (long lane = 0; lane < 16; lane++) {
            int sum = 0;
            for (long t = 0; t < kp; t++) sum += (int)x[r * lda + t] * (int)w[(t / 2) * 32 + lane * 2 + t % 2];
            out[r][lane] = sum;
        }
}

void ek_quantize_rows_u16_avx2(const float *x, long m, long k, long ldx, unsigned short *a, long kp, float *scales) {
    for (long i = 0; i < m; i++) {
        const float *r = x + i * ldx;
        float s = ek_int8_scale(ek_int8_peak(r, 0, k, 0)), inv = 1.0f / s;
        for (long t = 0; t < kp; t++) a[i * kp + t] = t < k ? (unsigned short)ek_int8_quantize(r[t], inv) : 128;
        scales[i] = s;
    }
}
void ek_quantize_rows_u8_avx2(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales) {
    ek_quantize_rows_u8(x, m, k, ldx, a, kp, scales);
}
void ek_gemm_u16s8_avx2(const unsigned short *a, long m, long kp, long lda, const signed char *packed,
                        long block_begin, long block_end, int *c, long ldc) {
    ek_int8_run_tiles(ek_tile_u16_portable, NULL, a, 2, m, kp, lda, packed, block_begin, block_end, c, ldc, NULL, NULL,
                      NULL, NULL, NULL, 0);
}
void ek_qgemm_u16s8_avx2(const unsigned short *a, long m, long kp, const signed char *packed, long block_begin,
                         long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                         float *y, long n) {
    ek_int8_run_tiles(ek_tile_u16_portable, ek_int8_dequant, a, 2, m, kp, kp, packed, block_begin, block_end, NULL, 0,
                      corr, ws, rs, bias, y, n);
}
#endif

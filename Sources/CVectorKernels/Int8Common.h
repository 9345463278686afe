// What the int8 kernels (Int8Gemm.c, Int8AVX2.c, Int8AVXVNNI*.c) share: the scalar steps of
// dynamic quantization, so that every kernel quantizes and dequantizes with the same
// expressions (the int32 sums and the rows are compared exactly across kernels), and the tiled
// loop over rows and output blocks that each kernel's tile runs in.
#ifndef EK_INT8_COMMON_H
#define EK_INT8_COMMON_H

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

// A kernel's tile: `rows` (1 to 6) activation rows from `a` (row stride `lda` elements)
// against one block of 16 outputs `w` (16 * kp packed bytes); out[r][lane] the int32 sums.
typedef void (*ek_int8_tile_fn)(const void *a, long lda, long kp, const signed char *w, int rows, int (*out)[16]);
// One row's 16 sums to outputs, as ek_int8_dequant.
typedef void (*ek_int8_dequant_fn)(const int *sum, float *y, long j0, long n, const int *corr, const float *ws, float rs,
                                   const float *bias);

// The loop every int8 kernel runs its tile in (Int8Gemm.c): rows in tiles of 48 (they stay in
// L2 while this thread's blocks pass), each block against 6 rows at a time. With y, each row
// dequantized by `dequant` (row stride n); without, the raw sums into c (row stride ldc).
// Activations are `activation_bytes` wide, row stride lda.
void ek_int8_run_tiles(ek_int8_tile_fn tile, ek_int8_dequant_fn dequant, const void *a, long activation_bytes, long m,
                       long kp, long lda, const signed char *packed, long block_begin, long block_end, int *c, long ldc,
                       const int *corr, const float *ws, const float *rs, const float *bias, float *y, long n);

// Runs TILE(x, lda, n, w, R, out) with R the literal row count (1 to 6, from `rows`), so that
// an always-inline tile compiles once per count with its accumulators in registers.
#define EK_INT8_TILE_BY_ROWS(TILE, x, lda, n, w, rows, out)   \
    do {                                                     \
        switch (rows) {                                      \
        case 6: TILE(x, lda, n, w, 6, out); break;           \
        case 5: TILE(x, lda, n, w, 5, out); break;           \
        case 4: TILE(x, lda, n, w, 4, out); break;           \
        case 3: TILE(x, lda, n, w, 3, out); break;           \
        case 2: TILE(x, lda, n, w, 2, out); break;           \
        default: TILE(x, lda, n, w, 1, out); break;          \
        }                                                    \
    } while (0)

// Where a VNNI-layout kernel's x86 code is not built: its two entry points (raw sums, fused
// product) run the portable loop, which reads the same layout.
#define EK_INT8_PORTABLE_STANDINS(GEMM, QGEMM)                                                                   \
    void GEMM(const unsigned char *a, long m, long kp, long lda, const signed char *packed, long block_begin,    \
              long block_end, int *c, long ldc) {                                                                \
        ek_gemm_u8s8_portable(a, m, kp, lda, packed, block_begin, block_end, c, ldc);                            \
    }                                                                                                            \
    void QGEMM(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,              \
               long block_end, const int *corr, const float *ws, const float *rs, const float *bias, float *y,   \
               long n) {                                                                                         \
        ek_qgemm_portable(a, m, kp, packed, block_begin, block_end, corr, ws, rs, bias, y, n);                   \
    }

#if defined(__x86_64__) || defined(_M_X64)
// ek_int8_dequant in AVX2 (Int8AVX2.c), for the AVX2 and AVX-VNNI kernels.
void ek_int8_dequant_avx2(const int *sum, float *y, long j0, long n, const int *corr, const float *ws, float rs,
                          const float *bias);
#endif

#endif

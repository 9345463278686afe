// The AVX-VNNI int8 kernel's body, included by Int8AVXVNNI.c (the instruction) and by
// Int8AVXVNNIModel.c (a scalar model of it, so the tiling and the layout are tested on any AVX2
// CPU). The includer defines EK_VNNI_TARGET (a target attribute), EK_DPBUSD(acc, a, w) (acc +=
// per int32 lane the 4 products u8 a x s8 w) and EK_VNNI_NAME(f) (the public names).
// No include guard: each includer compiles its own copy.

// ROWS rows of u8 activations (row stride lda) against one 16-output block: out[r][lane].
EK_VNNI_TARGET static inline __attribute__((always_inline)) void
ek_tile_avxvnni(const unsigned char *a, long lda, long groups, const signed char *w, const int rows, int (*out)[16]) {
    __m256i lo[6], hi[6];
    for (int r = 0; r < rows; r++) lo[r] = hi[r] = _mm256_setzero_si256();
    for (long g = 0; g < groups; g++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + g * 64));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(w + g * 64 + 32));
        for (int r = 0; r < rows; r++) {
            int v;
            memcpy(&v, a + r * lda + 4 * g, 4);
            const __m256i av = _mm256_set1_epi32(v);
            lo[r] = EK_DPBUSD(lo[r], av, w0);
            hi[r] = EK_DPBUSD(hi[r], av, w1);
        }
    }
    for (int r = 0; r < rows; r++) {
        _mm256_storeu_si256((__m256i *)out[r], lo[r]);
        _mm256_storeu_si256((__m256i *)(out[r] + 8), hi[r]);
    }
}

// The tile for ek_int8_run_tiles: the 6-row form for full tiles, the shorter ones for the rest.
EK_VNNI_TARGET static void ek_tile_u8_avxvnni(const void *a, long lda, long kp, const signed char *w, int rows,
                                              int (*out)[16]) {
    EK_INT8_TILE_BY_ROWS(ek_tile_avxvnni, (const unsigned char *)a, lda, kp / 4, w, rows, out);
}

void EK_VNNI_NAME(ek_gemm_u8s8)(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                                long block_begin, long block_end, int *c, long ldc) {
    ek_int8_run_tiles(ek_tile_u8_avxvnni, NULL, a, 1, m, kp, lda, packed, block_begin, block_end, c, ldc, NULL, NULL, NULL,
                      NULL, NULL, 0);
}

void EK_VNNI_NAME(ek_qgemm)(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                            long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                            float *y, long n) {
    ek_int8_run_tiles(ek_tile_u8_avxvnni, ek_int8_dequant_avx2, a, 1, m, kp, kp, packed, block_begin, block_end, NULL, 0,
                      corr, ws, rs, bias, y, n);
}

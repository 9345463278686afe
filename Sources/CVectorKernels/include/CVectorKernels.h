// AVX2+FMA versions of the hottest elementwise kernels, chosen at run time.
//
// Why C: release builds carry no -march flag, so Swift's SIMD8<Float> compiles to pairs of
// SSE instructions without FMA; Swift has no per-function target attribute, C does. The
// Swift SIMD kernels in ElectraKernels stay the portable path (and the reference these are
// tested against); these run only when ek_cpu_features() says the CPU and OS support them.
#ifndef ELECTRA_CVECTORKERNELS_H
#define ELECTRA_CVECTORKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set features usable here: the CPU has them (CPUID) and the OS saves their
/// registers (XCR0). AMX additionally needs ek_request_amx() on Linux.
enum {
    EK_SSE42 = 1 << 0,
    EK_AVX = 1 << 1,
    EK_AVX2 = 1 << 2,
    EK_FMA = 1 << 3,
    EK_AVX512F = 1 << 4,
    EK_AVX512BW = 1 << 5,
    EK_AVX512DQ = 1 << 6,
    EK_AVX512VL = 1 << 7,
    EK_AVX512VNNI = 1 << 8,
    EK_AVX512BF16 = 1 << 9,
    EK_AMX_TILE = 1 << 10,
    EK_AMX_BF16 = 1 << 11,
    EK_AMX_INT8 = 1 << 12,
    EK_AVXVNNI = 1 << 13,
};
unsigned long long ek_cpu_features(void);

/// Asks Linux for permission to use AMX tile data (once per process); 1 when granted.
int ek_request_amx(void);


/// x[i] = gelu(x[i] + bias[i]) for i < n, exact-erf GELU (bias may be NULL).
void ek_gelu_avx2(float *x, const float *bias, long n);

/// dx[i] = dy[i] * gelu'(x[i]) for i < n.
void ek_gelu_backward_avx2(const float *x, const float *dy, float *dx, long n);

/// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results.
float ek_exp_shifted_avx2(float *x, long n, float shift);

/// The same three kernels in AVX-512 (F/BW/DQ/VL), for CPUs whose features include it.
void ek_gelu_avx512(float *x, const float *bias, long n);
void ek_gelu_backward_avx512(const float *x, const float *dy, float *dx, long n);
float ek_exp_shifted_avx512(float *x, long n, float shift);

/// int8 products (Int8Gemm.c). Weights [n, k] s8 packed into blocks of 16 outputs x 4 k
/// (ceil(n/16) * 16 * kp bytes, kp = k rounded up to 4, zero padded). c[i, 16 b + lane] (int32)
/// = sum over kp of a[i, t] (u8, row stride lda) * w[16 b + lane, t], for blocks
/// [block_begin, block_end); c has row stride ldc (at least 16 * block_end).
void ek_pack_s8_vnni(const signed char *w, long n, long k, signed char *packed);
void ek_gemm_u8s8_portable(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                           long block_begin, long block_end, int *c, long ldc);
void ek_gemm_u8s8_avx512vnni(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                             long block_begin, long block_end, int *c, long ldc);

/// Activations [m, k] (row stride ldx) -> u8 rows of kp (zero point 128, padding 128), and
/// each row's scale max|x| / 127 (1 for a zero row).
void ek_quantize_rows_u8(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales);
void ek_quantize_rows_u8_avx512(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales);

/// The product with dequantization fused: y[i, j] (row stride n) = (sum_ij - corr[j]) *
/// (rs[i] * ws[j]) + bias[j] (bias may be NULL) for the columns of blocks
/// [block_begin, block_end) below n; a has row stride kp.
void ek_qgemm_portable(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                       long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                       float *y, long n);
void ek_qgemm_avx512vnni(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                         long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                         float *y, long n);

/// The AVX2 int8 kernel (Int8AVX2.c): the same sums and products, with weights packed per pair
/// of k (blocks of 16 outputs; per pair 16 bytes for outputs 0-7, then 8-15; same size as the
/// VNNI layout) and activations as int16 rows holding the u8 values (vpmaddwd operands).
void ek_pack_s8_avx2(const signed char *w, long n, long k, signed char *packed);
void ek_quantize_rows_u16_avx2(const float *x, long m, long k, long ldx, unsigned short *a, long kp, float *scales);
void ek_gemm_u16s8_avx2(const unsigned short *a, long m, long kp, long lda, const signed char *packed,
                        long block_begin, long block_end, int *c, long ldc);
void ek_qgemm_u16s8_avx2(const unsigned short *a, long m, long kp, const signed char *packed, long block_begin,
                         long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                         float *y, long n);

/// The u8 rows of ek_quantize_rows_u8, vectorized with AVX2 (for the AVX-VNNI kernel).
void ek_quantize_rows_u8_avx2(const float *x, long m, long k, long ldx, unsigned char *a, long kp, float *scales);
/// The AVX-VNNI kernel (Int8AVXVNNI.c): the VNNI layout and u8 rows, ymm vpdpbusd.
void ek_gemm_u8s8_avxvnni(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                          long block_begin, long block_end, int *c, long ldc);
void ek_qgemm_avxvnni(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                      long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                      float *y, long n);
/// The same kernel with vpdpbusd replaced by a scalar model of it (AVX2 alone), for tests.
void ek_gemm_u8s8_avxvnni_model(const unsigned char *a, long m, long kp, long lda, const signed char *packed,
                                long block_begin, long block_end, int *c, long ldc);
void ek_qgemm_avxvnni_model(const unsigned char *a, long m, long kp, const signed char *packed, long block_begin,
                            long block_end, const int *corr, const float *ws, const float *rs, const float *bias,
                            float *y, long n);

/// fp32 weights [n, k] packed once into panels of 16 outputs: ceil(n/16) * 16 * k floats,
/// panel b holding W[16 b + l, t] at [t * 16 + l] (zero past n). Then y[i, j] (row stride n)
/// = bias[j] + Σ_t x[i, t] W[j, t] for the columns of panels [block_begin, block_end) below n.
void ek_pack_panels_f32(const float *w, long n, long k, float *panels);
void ek_panels_portable(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                        long block_end, const float *bias, float *y, long n);
void ek_panels_avx2(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                    long block_end, const float *bias, float *y, long n);
void ek_panels_avx512(const float *x, long m, long k, long ldx, const float *panels, long block_begin,
                      long block_end, const float *bias, float *y, long n);

/// LayerNorm rows (AVX-512): out = (x - mean) * rstd * gamma + beta with x = input (+ residual),
/// mean/rstd written when non-NULL; out may alias input.
void ek_layernorm_rows_avx2(float *out, const float *input, const float *residual, const float *gamma,
                            const float *beta, long rows, long n, float eps, float *mean, float *rstd);
void ek_layernorm_backward_rows_avx2(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                     const float *residual, const float *gamma, const float *mean,
                                     const float *rstd, long rows, long n);
void ek_layernorm_rows_avx512(float *out, const float *input, const float *residual, const float *gamma,
                              const float *beta, long rows, long n, float eps, float *mean, float *rstd);
/// Its backward for `rows` rows: dx (may alias dy), and dGamma/dBeta added into pgamma/pbeta.
void ek_layernorm_backward_rows_avx512(float *dx, float *pgamma, float *pbeta, const float *dy, const float *input,
                                       const float *residual, const float *gamma, const float *mean,
                                       const float *rstd, long rows, long n);

/// AdamW (torch) and ELECTRA's AdamWeightDecay over n elements in AVX-512, bit-identical to the
/// Swift lanes in OptimizerKernels.swift (same operations, same order, no FMA).
void ek_adamw_avx512(float *p, const float *g, float *m, float *v, long n, float decay, float beta1,
                     float one_minus_beta1, float beta2, float one_minus_beta2, float neg_step,
                     float bc2_sqrt, float eps);
void ek_electra_adam_avx512(float *p, const float *g, float *m, float *v, long n, float lr, float wd, float beta1,
                            float one_minus_beta1, float beta2, float one_minus_beta2, float eps);

/// oneDNN's row-major sgemm, loaded at run time (OneDNN.c). ek_onednn_load returns 1 when the
/// library was found; ek_onednn_sgemm (only after a successful load) runs on the calling
/// thread alone and returns oneDNN's status (0 = success).
int ek_onednn_load(void);
void ek_onednn_version(int *major, int *minor, int *patch);
int ek_onednn_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc);

/// oneDNN's bf16 product with fp32 accumulation and output, C = alpha op(A) op(B) + beta C,
/// row-major, A and B bf16 bits (AMX or AVX512-BF16 inside oneDNN). ek_onednn_has_bf16 is 1
/// when the loaded oneDNN exports it.
int ek_onednn_has_bf16(void);
int ek_onednn_gemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const unsigned short *a,
                        long lda, const unsigned short *b, long ldb, float beta, float *c, long ldc);
/// Pins the calling thread's OpenMP team to one thread (our pool splits the products).
void ek_onednn_pin_omp(void);

/// The same product through oneDNN 2.x's matmul primitive (OneDNNMatmul.c; brgemm on AMX):
/// C[m,n] = alpha op(A) op(B) (+ C when accumulate) (+ bias[n] when non-NULL). Returns 0
/// when it ran, nonzero when this oneDNN or shape has no fast kernel for it (then nothing
/// was written and the caller uses ek_onednn_gemm_bf16).
int ek_onednn_matmul_available(void);
int ek_onednn_matmul_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const unsigned short *a, long lda,
                          const unsigned short *b, long ldb, int accumulate, float *c, long ldc, const float *bias);

/// fp32 -> bf16 (round to nearest even, NaN stays NaN) and back (BF16.c); the AVX-512
/// versions give the same bits.
void ek_f32_to_bf16(const float *src, unsigned short *dst, long n);
/// dst = bf16(GELU(x + bias)) (bias may be NULL), erf GELU as ek_gelu_avx512, RNE rounding.
void ek_gelu_to_bf16_avx512bf16(const float *x, const float *bias, unsigned short *dst, long n);
void ek_bf16_to_f32(const unsigned short *src, float *dst, long n);
void ek_f32_to_bf16_avx512bf16(const float *src, unsigned short *dst, long n);
void ek_bf16_to_f32_avx512(const unsigned short *src, float *dst, long n);

/// Dropout keep-mask for pairs [pair_begin, pair_end) of `count` elements: pair j's
/// SplitMix64(key + j) gives elements 2j (low 32 bits) and 2j + 1 (high), each `keep` when
/// its 32 bits are >= threshold, else 0 (Dropout512.c; equal to the Swift loop).
void ek_dropout_mask_avx512(float *mask, long count, unsigned long long key, unsigned int threshold, float keep,
                            long pair_begin, long pair_end);
/// The same mask in AVX2 (DropoutAVX2.c: 64-bit products from 32-bit ones).
void ek_dropout_mask_avx2(float *mask, long count, unsigned long long key, unsigned int threshold, float keep,
                          long pair_begin, long pair_end);

/// out[i] = a[i] * b[i] (out may alias a or b), and rows of the softmax backward
/// dx = p * (dp - Σ dp p) (dx may alias dp), in AVX-512 (Attention512.c).
void ek_multiply_avx512(float *out, const float *a, const float *b, long n);
void ek_softmax_backward_rows_avx512(float *dx, const float *dp, const float *p, long rows, long n);

/// SIGINT and SIGTERM set a flag instead of ending the process (Signals.c).
void ek_install_stop_signals(void);
int ek_stop_requested(void);

#ifdef __cplusplus
}
#endif

#endif

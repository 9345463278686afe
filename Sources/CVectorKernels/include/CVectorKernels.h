// AVX2+FMA versions of the hottest elementwise kernels, chosen at run time.
//
// Why C: release builds carry no -march flag, so Swift's SIMD8<Float> compiles to pairs of
// SSE instructions without FMA; Swift has no per-function target attribute, C does. The
// Swift SIMD kernels in ElectraKernels stay the portable path (and the reference these are
// tested against); these run only when ek_has_avx2_fma() says the CPU and OS support them.
#ifndef ELECTRA_CVECTORKERNELS_H
#define ELECTRA_CVECTORKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU has AVX2 and FMA and the OS saves YMM state; 0 otherwise (and on non-x86).
int ek_has_avx2_fma(void);

/// x[i] = gelu(x[i] + bias[i]) for i < n, exact-erf GELU (bias may be NULL).
void ek_gelu_avx2(float *x, const float *bias, long n);

/// dx[i] = dy[i] * gelu'(x[i]) for i < n.
void ek_gelu_backward_avx2(const float *x, const float *dy, float *dx, long n);

/// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results.
float ek_exp_shifted_avx2(float *x, long n, float shift);

#ifdef __cplusplus
}
#endif

#endif

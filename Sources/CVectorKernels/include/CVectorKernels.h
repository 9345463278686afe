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

/// 1 when the CPU has AVX2 and FMA and the OS saves YMM state; 0 otherwise (and on non-x86).
int ek_has_avx2_fma(void);

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

#ifdef __cplusplus
}
#endif

#endif

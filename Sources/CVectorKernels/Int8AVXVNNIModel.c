// The AVX-VNNI kernel (Int8AVXVNNIBody.h) with vpdpbusd replaced by a scalar model of it, on
// AVX2 alone: the tests run it on CPUs without AVX-VNNI and compare its sums with the portable
// loop's, so that only the instruction itself is untested there. x86 only: elsewhere
// Int8AVXVNNI.c's fallbacks define these names.
#include "CVectorKernels.h"
#include "Int8Common.h"
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define EK_VNNI_TARGET __attribute__((target("avx2,fma")))

// vpdpbusd: lane i += sum over j < 4 of u8 a[4i + j] * s8 w[4i + j], in 32-bit arithmetic.
EK_VNNI_TARGET static inline __m256i ek_dpbusd_model(__m256i acc, __m256i a, __m256i w) {
    unsigned char ua[32];
    signed char sw[32];
    int lanes[8];
    _mm256_storeu_si256((__m256i *)ua, a);
    _mm256_storeu_si256((__m256i *)sw, w);
    _mm256_storeu_si256((__m256i *)lanes, acc);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) lanes[i] += (int)ua[4 * i + j] * (int)sw[4 * i + j];
    return _mm256_loadu_si256((const __m256i *)lanes);
}

#define EK_DPBUSD(acc, a, w) ek_dpbusd_model((acc), (a), (w))
#define EK_VNNI_NAME(f) f##_avxvnni_model
#include "Int8AVXVNNIBody.h"

#endif  // elsewhere Int8AVXVNNI.c defines the model's names too

// bf16 <-> fp32 conversions. bf16 is the top 16 bits of an fp32; fp32 -> bf16 rounds to
// nearest even (what PyTorch's .to(torch.bfloat16) and AVX512-BF16's vcvtneps2bf16 do) and
// keeps NaNs NaN (a NaN whose payload sits in the low bits would otherwise round to Inf).
// The portable loops are the reference; the AVX-512 ones give the same bits.
#include "CVectorKernels.h"
#include <immintrin.h>
#include <string.h>

static inline unsigned short f32_to_bf16(float x) {
    unsigned int u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}

void ek_f32_to_bf16(const float *src, unsigned short *dst, long n) {
    for (long i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

void ek_bf16_to_f32(const unsigned short *src, float *dst, long n) {
    for (long i = 0; i < n; i++) {
        unsigned int u = (unsigned int)src[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))

AVX512BF16 void ek_f32_to_bf16_avx512bf16(const float *src, unsigned short *dst, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512((void *)(dst + i), (__m512i)v);
    }
    for (; i + 16 <= n; i += 16) {
        __m256bh v = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)v);
    }
    for (; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}

AVX512 void ek_bf16_to_f32_avx512(const unsigned short *src, float *dst, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_si512((void *)(dst + i), _mm512_slli_epi32(w, 16));
    }
    for (; i < n; i++) {
        unsigned int u = (unsigned int)src[i] << 16;
        memcpy(dst + i, &u, 4);
    }
}

// Dropout masks in AVX-512: the same values as DropoutContext.fillMask's Swift loop (bit for
// bit: SplitMix64 is integer arithmetic), 8 SplitMix64 outputs per step. Each 64-bit output
// gives two elements, its low 32 bits then its high 32 bits, which is exactly the order of
// the 16 uint32 lanes of the 8 uint64 lanes: one unsigned compare gives the 16-bit keep mask.
#include "CVectorKernels.h"
#include "DropoutScalar.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

AVX512 void ek_dropout_mask_avx512(float *mask, long count, unsigned long long key, unsigned int threshold,
                                   float keep, long pair_begin, long pair_end) {
    const __m512i golden = _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ULL);
    const __m512i c1 = _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ULL);
    const __m512i c2 = _mm512_set1_epi64((long long)0x94D049BB133111EBULL);
    const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i thr = _mm512_set1_epi32((int)threshold);
    const __m512 kept = _mm512_set1_ps(keep);
    long j = pair_begin;
    // Whole groups of 8 pairs whose 16 elements all lie inside `count`.
    for (; j + 8 <= pair_end && 2 * (j + 8) <= count; j += 8) {
        __m512i z = _mm512_add_epi64(_mm512_set1_epi64((long long)(key + (unsigned long long)j)), lane);
        z = _mm512_add_epi64(z, golden);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), c1);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), c2);
        z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
        __mmask16 k = _mm512_cmpge_epu32_mask(z, thr);
        _mm512_storeu_ps(mask + 2 * j, _mm512_maskz_mov_ps(k, kept));
    }
    ek_dropout_mask_scalar(mask, count, key, threshold, keep, j, pair_end);
}

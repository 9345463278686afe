// Dropout masks in AVX2: the same values as DropoutContext.fillMask's Swift loop, bit for bit
// (SplitMix64 is integer arithmetic), 4 SplitMix64 outputs per step. AVX2 has no 64-bit
// multiply, so each of SplitMix64's two products is built from three 32 x 32 -> 64 ones
// (a * c mod 2^64 = lo(a) lo(c) + ((hi(a) lo(c) + lo(a) hi(c)) << 32)); the Swift loop ran
// scalar code (2-3% of a training step). The 8 uint32 lanes of the 4 uint64 outputs are the
// elements' order (low half first), and AVX2's signed compare serves as an unsigned one after
// flipping the sign bits.
#include "CVectorKernels.h"
#include "DropoutScalar.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define DROP2 __attribute__((target("avx2")))

static inline __attribute__((always_inline, target("avx2"))) __m256i mul64(__m256i a, __m256i c_lo, __m256i c_hi) {
    __m256i lo = _mm256_mul_epu32(a, c_lo);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), c_lo), _mm256_mul_epu32(a, c_hi));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

DROP2 void ek_dropout_mask_avx2(float *mask, long count, unsigned long long key, unsigned int threshold, float keep,
                                long pair_begin, long pair_end) {
    const unsigned long long C1 = 0xBF58476D1CE4E5B9ULL, C2 = 0x94D049BB133111EBULL;
    const __m256i golden = _mm256_set1_epi64x((long long)0x9E3779B97F4A7C15ULL);
    const __m256i c1_lo = _mm256_set1_epi64x((long long)(C1 & 0xFFFFFFFFULL)), c1_hi = _mm256_set1_epi64x((long long)(C1 >> 32));
    const __m256i c2_lo = _mm256_set1_epi64x((long long)(C2 & 0xFFFFFFFFULL)), c2_hi = _mm256_set1_epi64x((long long)(C2 >> 32));
    const __m256i lane = _mm256_set_epi64x(3, 2, 1, 0);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    const __m256i thr = _mm256_xor_si256(_mm256_set1_epi32((int)threshold), sign);
    const __m256 kept = _mm256_set1_ps(keep);
    long j = pair_begin;
    // Whole groups of 4 pairs whose 8 elements all lie inside `count`.
    for (; j + 4 <= pair_end && 2 * (j + 4) <= count; j += 4) {
        __m256i z = _mm256_add_epi64(_mm256_set1_epi64x((long long)(key + (unsigned long long)j)), lane);
        z = _mm256_add_epi64(z, golden);
        z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), c1_lo, c1_hi);
        z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), c2_lo, c2_hi);
        z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
        // dropped where threshold > value (unsigned): keep = NOT dropped.
        __m256i dropped = _mm256_cmpgt_epi32(thr, _mm256_xor_si256(z, sign));
        _mm256_storeu_ps(mask + 2 * j, _mm256_andnot_ps(_mm256_castsi256_ps(dropped), kept));
    }
    ek_dropout_mask_scalar(mask, count, key, threshold, keep, j, pair_end);
}

#else
void ek_dropout_mask_avx2(float *mask, long count, unsigned long long key, unsigned int threshold, float keep,
                          long pair_begin, long pair_end) {
    ek_dropout_mask_scalar(mask, count, key, threshold, keep, pair_begin, pair_end);
}
#endif

// The attention loops' elementwise parts in AVX-512: products with a dropout mask and the
// softmax backward of probability rows. Plain multiplies and one dot product, so the results
// equal the Swift SIMD lanes' up to the order of the dot product's additions.
#include "CVectorKernels.h"
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

AVX512 void ek_multiply_avx512(float *out, const float *a, const float *b, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
    }
}

AVX512 void ek_softmax_backward_rows_avx512(float *dx, const float *dp, const float *p, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *dpr = dp + r * n, *pr = p + r * n;
        float *dxr = dx + r * n;
        __m512 acc = _mm512_setzero_ps();
        long i = 0;
        for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(dpr + i), _mm512_loadu_ps(pr + i), acc);
        __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
        if (i < n) acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, dpr + i), _mm512_maskz_loadu_ps(tail, pr + i), acc);
        __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
        for (i = 0; i + 16 <= n; i += 16)
            _mm512_storeu_ps(dxr + i, _mm512_mul_ps(_mm512_loadu_ps(pr + i), _mm512_sub_ps(_mm512_loadu_ps(dpr + i), dot)));
        if (i < n)
            _mm512_mask_storeu_ps(dxr + i, tail,
                                  _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, pr + i), _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, dpr + i), dot)));
    }
}

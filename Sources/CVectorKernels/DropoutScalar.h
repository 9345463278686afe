// The scalar form of the dropout mask (DropoutContext.fillMask's Swift loop in C), shared by
// the AVX-512 and AVX2 kernels for the pairs their vector loops leave: pair j's
// SplitMix64(key + j) gives elements 2j (low 32 bits) and 2j + 1 (high 32 bits).
#ifndef EK_DROPOUT_SCALAR_H
#define EK_DROPOUT_SCALAR_H

static inline void ek_dropout_mask_scalar(float *mask, long count, unsigned long long key, unsigned int threshold,
                                          float keep, long pair_begin, long pair_end) {
    for (long j = pair_begin; j < pair_end; j++) {
        unsigned long long z = key + (unsigned long long)j + 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        long i = 2 * j;
        mask[i] = (unsigned int)(z & 0xFFFFFFFFu) >= threshold ? keep : 0.0f;
        if (i + 1 < count) mask[i + 1] = (unsigned int)(z >> 32) >= threshold ? keep : 0.0f;
    }
}

#endif

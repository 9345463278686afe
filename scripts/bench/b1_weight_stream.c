// How fast can OpenBLAS alone run small B1 L16's products? (BENCHMARKS.md, issue 2)
// The twelve layers' products ([16 x 256] times [768|256|1024 x 256] and [256 x 1024]), split
// across two threads by output columns with one-thread OpenBLAS calls and the bias written
// first, as parallelSgemm does:
//   cold: twelve distinct layers (38 MB of weights, more than the 32 MB L3), as in the model;
//   hot:  one layer's weights (3 MB) twelve times, so they stay in cache;
//   read: a plain two-thread read of the same 38 MB (the memory bound).
//   gcc -O2 -mavx2 -fopenmp scripts/bench/b1_weight_stream.c -o /tmp/b1_stream $(pkg-config --cflags --libs openblas) && OMP_WAIT_POLICY=active /tmp/b1_stream
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { LAYERS = 12, ROWS = 16, REPEATS = 15 };
static const int shapes[4][2] = {{768, 256}, {256, 256}, {1024, 256}, {256, 1024}};  // {out, in}

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *w[LAYERS][4], bias[1024], x[ROWS * 1024], c[ROWS * 1024];

static double forward(int distinct) {
    double t0 = now();
    for (int l = 0; l < LAYERS; l++)
        for (int s = 0; s < 4; s++) {
            const int n = shapes[s][0], k = shapes[s][1];
            const float *wl = w[distinct ? l : 0][s];
#pragma omp parallel num_threads(2)
            {
                const int t = omp_get_thread_num(), n0 = n * t / 2, n1 = n * (t + 1) / 2;
                for (int r = 0; r < ROWS; r++) memcpy(c + r * n + n0, bias + n0, sizeof(float) * (n1 - n0));
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ROWS, n1 - n0, k, 1, x, k, wl + (long)n0 * k, k, 1, c + n0, n);
            }
        }
    return now() - t0;
}

static double readAll(void) {
    double t0 = now();
    float total = 0;
#pragma omp parallel for num_threads(2) reduction(+ : total) schedule(static)
    for (int q = 0; q < LAYERS * 4; q++) {
        const float *p = w[q / 4][q % 4];
        const long count = (long)shapes[q % 4][0] * shapes[q % 4][1];
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long i = 0; i < count; i += 32) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
        }
        float o[8];
        _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (int j = 0; j < 8; j++) total += o[j];
    }
    if (total == 12345.f) puts("");  // keep the reads
    return now() - t0;
}

int main(void) {
    openblas_set_num_threads(1);
    double bytes = 0, flops = 0;
    for (int l = 0; l < LAYERS; l++)
        for (int s = 0; s < 4; s++) {
            const long count = (long)shapes[s][0] * shapes[s][1];
            w[l][s] = malloc(sizeof(float) * count);
            for (long i = 0; i < count; i++) w[l][s][i] = (float)((i * 7 + l) % 13) * 0.01f - 0.06f;
            bytes += 4.0 * count;
            flops += 2.0 * ROWS * count;
        }
    for (int i = 0; i < ROWS * 1024; i++) x[i] = (float)(i % 11) * 0.1f - 0.5f;
    double cold = 1e9, hot = 1e9, read = 1e9;
    for (int r = 0; r < REPEATS; r++) {  // interleaved, best of each
        double t = forward(1);
        if (t < cold) cold = t;
        t = forward(0);
        if (t < hot) hot = t;
        t = readAll();
        if (t < read) read = t;
    }
    printf("weights %.1f MB, %.0f MFLOP per forward, best of %d\n", bytes / 1e6, flops / 1e6, REPEATS);
    printf("cold (12 distinct layers): %.2f ms  %.1f GFLOP/s\n", cold * 1e3, flops / cold / 1e9);
    printf("hot  (one layer 12 times): %.2f ms  %.1f GFLOP/s\n", hot * 1e3, flops / hot / 1e9);
    printf("read the 38 MB once:       %.2f ms  %.1f GB/s\n", read * 1e3, bytes / read / 1e9);
    return 0;
}

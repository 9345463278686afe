// OpenBLAS alone on the products a few tokens make (BENCHMARKS.md, issue 2): one thread,
// 12 distinct weights per shape so they come from memory as in the model.
//   cc -O2 scripts/bench/blas_small_products.c -o /tmp/blas_small $(pkg-config --cflags --libs openblas) && /tmp/blas_small
// 1. one row: sgemm (packs the whole weight) against sgemv (reads it in place);
// 2. few rows: C = X W^T against (W X^T)^T, which makes OpenBLAS pack W with its other copy routine.
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { WEIGHTS = 12, REPEATS = 20 };

int main(void) {
    openblas_set_num_threads(1);
    const int shapes[4][2] = {{768, 256}, {256, 256}, {1024, 256}, {256, 1024}};  // {out, in}
    for (int s = 0; s < 4; s++) {
        const int n = shapes[s][0], k = shapes[s][1];
        float *w[WEIGHTS];
        for (int i = 0; i < WEIGHTS; i++) {
            w[i] = malloc(sizeof(float) * n * k);
            for (long j = 0; j < (long)n * k; j++) w[i][j] = (j % 13) * 0.01f;
        }
        for (int m = 1; m <= 64; m *= 4) {
            float *x = malloc(sizeof(float) * m * k), *c = calloc((size_t)m * n, sizeof(float)), *ct = calloc((size_t)m * n, sizeof(float));
            for (int j = 0; j < m * k; j++) x[j] = 0.01f;
            double plain = 1e9, other = 1e9;
            for (int r = 0; r < REPEATS; r++) {
                double t0 = now();
                for (int q = 0; q < WEIGHTS; q++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, x, k, w[q], k, 1, c, n);
                double t = (now() - t0) / WEIGHTS;
                if (t < plain) plain = t;
                t0 = now();
                for (int q = 0; q < WEIGHTS; q++) {
                    if (m == 1) {
                        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1, w[q], k, x, 1, 1, c, 1);
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, k, 1, w[q], k, x, k, 1, ct, m);
                        cblas_somatcopy(CblasRowMajor, CblasTrans, n, m, 1, ct, m, c, n);
                    }
                }
                t = (now() - t0) / WEIGHTS;
                if (t < other) other = t;
            }
            printf("[%4d -> %4d] %2d rows: X W^T %7.1f us   %s %7.1f us   ratio %.2f\n", k, n, m, plain * 1e6,
                   m == 1 ? "sgemv          " : "(W X^T)^T + copy", other * 1e6, plain / other);
            free(x); free(c); free(ct);
        }
        for (int i = 0; i < WEIGHTS; i++) free(w[i]);
    }
    return 0;
}

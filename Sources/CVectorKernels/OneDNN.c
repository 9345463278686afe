// oneDNN's sgemm, loaded at run time when the library is installed (Debian: libdnnl2).
//
// Why dlopen and not a link: oneDNN is an optional speed-up (its JIT AVX-512 sgemm beats
// OpenBLAS's kernels on the shapes that matter, BENCHMARKS.md), and a package that links it
// would not build where it is missing. Why C: each thread that calls it must first pin its
// OpenMP team to one thread (our pool splits the products itself; oneDNN's threads are
// OpenMP's), and that is a per-thread flag.
#define _GNU_SOURCE
#include "CVectorKernels.h"
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *,
                             int64_t, float, float *, int64_t);
typedef int (*dnnl_gemm_bf16_fn)(char, char, int64_t, int64_t, int64_t, float, const uint16_t *, int64_t,
                                 const uint16_t *, int64_t, float, float *, int64_t);
typedef void (*omp_set_num_threads_fn)(int);
typedef const void *(*dnnl_version_fn)(void);

static dnnl_sgemm_fn ek_dnnl_sgemm_ptr;
static dnnl_gemm_bf16_fn ek_dnnl_gemm_bf16_ptr;
static omp_set_num_threads_fn ek_omp_set_num_threads_ptr;
static int ek_dnnl_major, ek_dnnl_minor, ek_dnnl_patch;
static __thread int ek_omp_pinned;

int ek_onednn_load(void) {
    if (ek_dnnl_sgemm_ptr) return 1;
    const char *names[] = {"libdnnl.so.3", "libdnnl.so.2", "libdnnl.so", "libdnnl.3.dylib", "libdnnl.2.dylib"};
    void *handle = NULL;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]) && !handle; i++)
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!handle) return 0;
    dnnl_sgemm_fn sgemm = (dnnl_sgemm_fn)dlsym(handle, "dnnl_sgemm");
    omp_set_num_threads_fn omp = (omp_set_num_threads_fn)dlsym(handle, "omp_set_num_threads");
    if (!omp) omp = (omp_set_num_threads_fn)dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (!sgemm) return 0;
    // dnnl_version_t: {int major, minor, patch; const char *hash; unsigned cpu_runtime, gpu_runtime}.
    dnnl_version_fn version = (dnnl_version_fn)dlsym(handle, "dnnl_version");
    if (version) {
        const int *v = (const int *)version();
        ek_dnnl_major = v[0];
        ek_dnnl_minor = v[1];
        ek_dnnl_patch = v[2];
    }
    ek_omp_set_num_threads_ptr = omp;
    ek_dnnl_gemm_bf16_ptr = (dnnl_gemm_bf16_fn)dlsym(handle, "dnnl_gemm_bf16bf16f32");
    ek_dnnl_sgemm_ptr = sgemm;
    return 1;
}

void ek_onednn_version(int *major, int *minor, int *patch) {
    *major = ek_dnnl_major;
    *minor = ek_dnnl_minor;
    *patch = ek_dnnl_patch;
}

void ek_onednn_pin_omp(void) {
    if (!ek_omp_pinned) {
        if (ek_omp_set_num_threads_ptr) ek_omp_set_num_threads_ptr(1);
        ek_omp_pinned = 1;
    }
}

int ek_onednn_has_bf16(void) { return ek_dnnl_gemm_bf16_ptr != NULL; }

int ek_onednn_gemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const unsigned short *a,
                        long lda, const unsigned short *b, long ldb, float beta, float *c, long ldc) {
    ek_onednn_pin_omp();
    return ek_dnnl_gemm_bf16_ptr(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c,
                                 ldc);
}

int ek_onednn_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {
    ek_onednn_pin_omp();
    return ek_dnnl_sgemm_ptr(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

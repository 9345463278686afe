// Session 19 (BENCHMARKS.md): Debian's BLIS 0.9 (kernels chosen at run time) against OpenBLAS on the
// products of a training step, one thread, one process: BLIS is opened with RTLD_DEEPBIND,
// or its cblas_sgemm would call OpenBLAS's sgemm_ (the first build of this harness measured
// OpenBLAS twice).
//   apt-get install libblis4-serial
//   clang -O2 scripts/bench/blis_vs_openblas.c -o /tmp/blis_vs_openblas $(pkg-config --cflags --libs openblas) -ldl && /tmp/blis_vs_openblas
#include <cblas.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
typedef void (*gemm_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
int main(){
  openblas_set_num_threads(1);
  void *h = dlopen("/usr/lib/x86_64-linux-gnu/blis-serial/libblis.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (!h) { printf("%s\n", dlerror()); return 1; }
  gemm_t blis = (gemm_t)dlsym(h, "cblas_sgemm");
  // {m, n, k, transA, transB}: forward x W^T, dx = dY W, dW = dY^T X (row-major), per thread halves
  long sh[][5] = {{2048,1024,256,0,1},{2048,256,1024,0,1},{2048,256,256,0,1},{2048,768,256,0,1},
                  {2048,256,1024,0,0},{2048,1024,256,0,0},{2048,256,256,0,0},
                  {512,256,4096,1,0},{128,256,4096,1,0},{256,512,4096,1,0},{128,128,64,0,1},{128,64,128,0,0}};
  int ns = sizeof sh / sizeof sh[0];
  for (int s = 0; s < ns; s++) {
    long m=sh[s][0], n=sh[s][1], k=sh[s][2]; int ta=sh[s][3], tb=sh[s][4];
    float *a=malloc(4*m*k), *b=malloc(4*n*k), *c=malloc(4*m*n);
    for (long i=0;i<m*k;i++) a[i]=(i%13)*0.01f; for (long i=0;i<n*k;i++) b[i]=(i%7)*0.01f;
    long lda = ta ? m : k, ldb = tb ? k : n;
    double t1=1e9,t2=1e9; int reps = (double)m*n*k > 1e8 ? 9 : 200;
    for (int r=0;r<reps;r++){
      double t0=now(); cblas_sgemm(CblasRowMajor, ta?CblasTrans:CblasNoTrans, tb?CblasTrans:CblasNoTrans, m,n,k,1,a,lda,b,ldb,0,c,n); double t=now()-t0; if(t<t1)t1=t;
      t0=now(); blis(CblasRowMajor, ta?CblasTrans:CblasNoTrans, tb?CblasTrans:CblasNoTrans, m,n,k,1,a,lda,b,ldb,0,c,n); t=now()-t0; if(t<t2)t2=t;
    }
    double macs=(double)m*n*k;
    printf("%c%c %5ldx%5ldx%5ld openblas %5.1f blis %5.1f GMAC/s  blis/openblas %.2f\n", ta?'T':'N', tb?'T':'N', m,n,k, macs/t1*1e-9, macs/t2*1e-9, t1/t2);
    free(a); free(b); free(c);
  }
}

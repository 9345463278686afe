// Session 19's test of a question (BENCHMARKS.md, "A GEMM without OpenBLAS's packing"): can
// an AVX2 6x16 kernel that reads activations in place (no packing of A; weights packed once
// into 16-column panels, or read in place for x . W) beat OpenBLAS's sgemm on the products
// of a training step? One thread, best of N; prints this core's FMA peak first.
//   clang -O2 scripts/bench/gemm_no_pack_avx2.c -o /tmp/gemm_no_pack $(pkg-config --cflags --libs openblas) && /tmp/gemm_no_pack
#include <cblas.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define AVX2F __attribute__((target("avx2,fma")))

void pack_panels(const float *w, long n, long k, float *panels) {
    const long blocks = (n + 15) / 16;
    memset(panels, 0, (size_t)(blocks * 16 * k) * sizeof(float));
    for (long j = 0; j < n; j++) { float *dst = panels + (j / 16) * 16 * k + (j % 16); for (long t = 0; t < k; t++) dst[t * 16] = w[j * k + t]; }
}

// R rows x 16 columns over t in [0, kc): acc += A[r, t] * B[t, 0..16), B at bp + t * ts.
// mode: 0 store alpha*acc (+bias) (+beta*C), ...; masks for a partial panel.
static inline __attribute__((always_inline)) AVX2F void tile(
    const int R, const float *a, long lda, const float *bp, long ts, long kc, int partial, __m256i m0, __m256i m1,
    float alpha, float beta, const float *bias, float *c, long ldc, int cols) {
    __m256 lo[6], hi[6];
    for (int r = 0; r < R; r++) { lo[r] = _mm256_setzero_ps(); hi[r] = _mm256_setzero_ps(); }
    if (!partial) {
        for (long t = 0; t < kc; t++) {
            const __m256 b0 = _mm256_loadu_ps(bp + t * ts), b1 = _mm256_loadu_ps(bp + t * ts + 8);
            for (int r = 0; r < R; r++) {
                const __m256 x = _mm256_broadcast_ss(a + r * lda + t);
                lo[r] = _mm256_fmadd_ps(x, b0, lo[r]); hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
            }
        }
    } else {
        for (long t = 0; t < kc; t++) {
            const __m256 b0 = _mm256_maskload_ps(bp + t * ts, m0), b1 = _mm256_maskload_ps(bp + t * ts + 8, m1);
            for (int r = 0; r < R; r++) {
                const __m256 x = _mm256_broadcast_ss(a + r * lda + t);
                lo[r] = _mm256_fmadd_ps(x, b0, lo[r]); hi[r] = _mm256_fmadd_ps(x, b1, hi[r]);
            }
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    __m256 bl = _mm256_setzero_ps(), bh = bl;
    if (bias) { bl = _mm256_maskload_ps(bias, m0); bh = _mm256_maskload_ps(bias + 8, m1); }
    for (int r = 0; r < R; r++) {
        float *cr = c + r * ldc;
        __m256 yl = _mm256_fmadd_ps(va, lo[r], bl), yh = _mm256_fmadd_ps(va, hi[r], bh);
        if (cols == 16) {
            if (beta != 0) { yl = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), yl); yh = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), yh); }
            _mm256_storeu_ps(cr, yl); _mm256_storeu_ps(cr + 8, yh);
        } else {
            if (beta != 0) { yl = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, m0), yl); yh = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, m1), yh); }
            _mm256_maskstore_ps(cr, m0, yl); _mm256_maskstore_ps(cr + 8, m1, yh);
        }
    }
}

// C[0..m, 16*pb .. min(16*pe, n)) = alpha * A · B + beta * C + bias, A [m, k] (lda),
// B's panel p column l at row t: b[p * ps + t * ts + l]. `padded`: panels hold 16 readable
// columns even past n (packed), else the last panel's loads are masked.
AVX2F void gemm_no_pack(const float *a, long lda, long m, long k, const float *b, long ps, long ts, long n,
                               int padded, long pb, long pe, float alpha, float beta, const float *bias, float *c, long ldc) {
    const long KC = 256;
    const long NC = 4;  // panels per L2 block
    for (long t0 = 0; t0 < k; t0 += KC) {
        const long kc = k - t0 < KC ? k - t0 : KC;
        const float be = t0 == 0 ? beta : 1.0f, al = alpha;
        const float *bi = t0 == 0 ? bias : 0;
        for (long g = pb; g < pe; g += NC) {
            const long ge = g + NC < pe ? g + NC : pe;
            for (long i = 0; i < m; i += 6) {
                const long rows = m - i < 6 ? m - i : 6;
                for (long p = g; p < ge; p++) {
                    const long j0 = p * 16, cols = n - j0 < 16 ? n - j0 : 16;
                    const int partial = cols < 16 && !padded;
                    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols), lane);
                    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)cols - 8), lane);
                    const float *ap = a + i * lda + t0, *bp = b + p * ps + t0 * ts;
                    float *cp = c + i * ldc + j0;
                    const float *bj = bi ? bi + j0 : 0;
                    switch (rows) {
                    case 6: tile(6, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    case 5: tile(5, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    case 4: tile(4, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    case 3: tile(3, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    case 2: tile(2, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    default: tile(1, ap, lda, bp, ts, kc, partial, m0, m1, al, be, bj, cp, ldc, (int)cols); break;
                    }
                }
            }
        }
    }
}

static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
__attribute__((target("avx2,fma"))) static double fma_peak(void) {
  __m256 c[12]; for (int i = 0; i < 12; i++) c[i] = _mm256_set1_ps(i * 0.1f);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.0001f);
  double best = 1e9; const long N = 50000000;
  for (int r = 0; r < 5; r++) { double t0 = now(); for (long i = 0; i < N; i++) for (int j = 0; j < 12; j++) c[j] = _mm256_fmadd_ps(c[j], a, b); double t = now() - t0; if (t < best) best = t; }
  float s = 0, x[8]; for (int i = 0; i < 12; i++) { _mm256_storeu_ps(x, c[i]); s += x[0]; }
  return s == 12345.0f ? 0 : N * 12 * 8 / best * 1e-9;
}
int main(int argc,char**argv){
  openblas_set_num_threads(1);
  printf("FMA peak, one core: %.1f GMAC/s\n", fma_peak());
  // {m, n, k, nt}
  long sh[][4]={{2048,1024,256,1},{2048,256,1024,1},{2048,256,256,1},{2048,768,256,1},
                {2048,256,1024,0},{2048,1024,256,0},{2048,256,256,0},{2048,256,768,0},{307,128,30522,0},{307,30522,128,1},{5,256,256,1},{37,1000,300,0}};
  int ns = sizeof sh / sizeof sh[0];
  for(int s=0;s<ns;s++){
    long m=sh[s][0],n=sh[s][1],k=sh[s][2]; int nt=sh[s][3];
    float*a=malloc(4*m*k),*w=malloc(4*n*k),*p=malloc(4*((n+15)/16*16)*k),*c1=malloc(4*m*n),*c2=malloc(4*m*n),*bias=malloc(4*n);
    for(long i=0;i<m*k;i++)a[i]=(i%13)*0.01f-0.05f; for(long i=0;i<n*k;i++)w[i]=(i%7)*0.01f-0.03f; for(long i=0;i<n;i++)bias[i]=i*0.001f;
    double tb=1e9,tm=1e9,tp=1e9; int reps = m*n*k > 1e8 ? 7 : 50;
    for(int r=0;r<reps;r++){
      double t0=now();
      if(nt) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,a,k,w,k,0,c1,n);
      else cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,m,n,k,1,a,k,w,n,0,c1,n);
      double t=now()-t0; if(t<tb)tb=t;
      t0=now();
      if(nt){ pack_panels(w,n,k,p); double tpk=now()-t0; if(tpk<tp)tp=tpk;
        gemm_no_pack(a,k,m,k,p,16*k,16,n,1,0,(n+15)/16,1,0,0,c2,n);}
      else gemm_no_pack(a,k,m,k,w,16,n,n,0,0,(n+15)/16,1,0,0,c2,n);
      t=now()-t0; if(t<tm)tm=t;
    }
    double err=0; for(long i=0;i<m*n;i++){double e=c1[i]-c2[i]; if(e<0)e=-e; if(e>err)err=e;}
    double macs=(double)m*n*k;
    printf("%s %5ldx%5ldx%5ld openblas %5.1f  mine %5.1f GMAC/s  ratio %.2f (pack %.1f%%) err %.1g\n", nt?"NT":"NN",m,n,k,macs/tb*1e-9,macs/tm*1e-9,tb/tm, nt?100*tp/tm:0, err);
  }
}

// CPUID + XGETBV: what the CPU has AND what the OS saves on a context switch (an instruction
// set whose registers the OS does not save is unusable), and on Linux the permission to use
// AMX tiles (arch_prctl ARCH_REQ_XCOMP_PERM; Linux 5.16+ grants it on request).
#include "CVectorKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static unsigned long long ek_xgetbv0(void) {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

unsigned long long ek_cpu_features(void) {
    unsigned a, b, c, d;
    unsigned long long f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & (1u << 20)) f |= EK_SSE42;
    const int osxsave = (c & (1u << 27)) != 0;
    const unsigned long long xcr0 = osxsave ? ek_xgetbv0() : 0;
    const int ymm = (xcr0 & 0x6) == 0x6;            // XMM, YMM
    const int zmm = ymm && (xcr0 & 0xE0) == 0xE0;   // opmask, ZMM_Hi256, Hi16_ZMM
    const int tiles = (xcr0 & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
    if (ymm && (c & (1u << 28))) f |= EK_AVX;
    if (ymm && (c & (1u << 12))) f |= EK_FMA;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (ymm && (b & (1u << 5))) f |= EK_AVX2;
        if (zmm && (b & (1u << 16))) f |= EK_AVX512F;
        if (zmm && (b & (1u << 17))) f |= EK_AVX512DQ;
        if (zmm && (b & (1u << 30))) f |= EK_AVX512BW;
        if (zmm && (b & (1u << 31))) f |= EK_AVX512VL;
        if (zmm && (c & (1u << 11))) f |= EK_AVX512VNNI;
        if (tiles && (d & (1u << 24))) f |= EK_AMX_TILE;
        if (tiles && (d & (1u << 22))) f |= EK_AMX_BF16;
        if (tiles && (d & (1u << 25))) f |= EK_AMX_INT8;
        unsigned a1, b1, c1, d1;
        if (__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1)) {
            if (zmm && (a1 & (1u << 5))) f |= EK_AVX512BF16;
            if (ymm && (a1 & (1u << 4))) f |= EK_AVXVNNI;
        }
    }
    return f;
}

int ek_request_amx(void) {
#if defined(__linux__)
    // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18.
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}

#else
unsigned long long ek_cpu_features(void) { return 0; }
int ek_request_amx(void) { return 0; }
#endif

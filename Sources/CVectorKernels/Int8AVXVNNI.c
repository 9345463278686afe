// int8 products on AVX-VNNI (the VEX form of vpdpbusd, on ymm: Alder Lake and later client
// cores, Xeon 6 E-cores, Sapphire Rapids and later) where AVX512-VNNI is absent, or capped by
// ELECTRA_MAX_ISA=avx2. One instruction adds 4 u8 x s8 products into each of 8 int32 lanes,
// exactly, with no separate add: four times vpmaddwd's multiply-adds per instruction.
// Same layout as AVX512-VNNI (Int8Gemm.c): a block's 64 bytes per group of 4 k hold outputs
// 0-7 then 8-15, so the two halves are the two ymm weight vectors; u8 activation rows.
#include "CVectorKernels.h"
#include "Int8Common.h"
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define EK_VNNI_TARGET __attribute__((target("avx2,fma,avxvnni")))
#define EK_DPBUSD(acc, a, w) _mm256_dpbusd_avx_epi32((acc), (a), (w))
#define EK_VNNI_NAME(f) f##_avxvnni
#include "Int8AVXVNNIBody.h"

#else
// Where no x86 code is built: the portable loop, for the kernel and its model alike.
EK_INT8_PORTABLE_STANDINS(ek_gemm_u8s8_avxvnni, ek_qgemm_avxvnni)
EK_INT8_PORTABLE_STANDINS(ek_gemm_u8s8_avxvnni_model, ek_qgemm_avxvnni_model)
#endif

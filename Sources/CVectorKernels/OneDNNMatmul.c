// bf16 products through oneDNN 2.x's matmul primitive, loaded at run time like OneDNN.c.
//
// Why: on AMX the matmul primitive runs brgemm AMX kernels that the gemm API
// (dnnl_gemm_bf16bf16f32) does not: measured on Emerald Rapids, one core, 1.4-1.9x the gemm
// API where K <= 1024 (the encoder's QKV, attention output and FFN input, and their dx),
// with the bias added in the same pass. With K in the thousands (weight gradients) the gemm
// API is as fast or faster, so callers keep it there (ek_onednn_matmul_bf16 returns nonzero
// and they fall back).
//
// A primitive is made once per shape (the JIT is the cost) and kept in a per-thread cache
// with its memory objects; a call only swaps data pointers, so threads never share one.
// The 2.x C API takes its descriptors by value; their sizes below are 2.6's
// (sizeof(dnnl_memory_desc_t) 696, dnnl_matmul_desc_t 2800), with room to spare.
#define _GNU_SOURCE
#include "CVectorKernels.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

typedef void *dnnl_handle;
typedef struct { _Alignas(64) unsigned char bytes[1024]; } memory_desc;
typedef struct { _Alignas(64) unsigned char bytes[4096]; } matmul_desc;
typedef struct { int arg; dnnl_handle memory; } exec_arg;

enum { dnnl_cpu = 1, dnnl_bf16 = 2, dnnl_f32 = 3, arg_src = 1, arg_dst = 17, arg_weights = 33, arg_bias = 41,
       stream_default_flags = 1, query_impl_info_str = 8 };

static struct {
    int (*engine_create)(dnnl_handle *, int, size_t);
    int (*stream_create)(dnnl_handle *, dnnl_handle, unsigned);
    int (*md_init_by_strides)(memory_desc *, int, const int64_t *, int, const int64_t *);
    int (*matmul_desc_init)(matmul_desc *, const memory_desc *, const memory_desc *, const memory_desc *,
                            const memory_desc *);
    int (*attr_create)(dnnl_handle *);
    int (*attr_destroy)(dnnl_handle);
    int (*post_ops_create)(dnnl_handle *);
    int (*post_ops_destroy)(dnnl_handle);
    int (*post_ops_append_sum)(dnnl_handle, float);
    int (*attr_set_post_ops)(dnnl_handle, dnnl_handle);
    int (*attr_set_output_scales)(dnnl_handle, int64_t, int, const float *);
    int (*pd_create)(dnnl_handle *, const void *, dnnl_handle, dnnl_handle, dnnl_handle);
    int (*pd_query)(dnnl_handle, int, int, void *);
    int (*pd_destroy)(dnnl_handle);
    int (*primitive_create)(dnnl_handle *, dnnl_handle);
    int (*primitive_destroy)(dnnl_handle);
    int (*primitive_execute)(dnnl_handle, dnnl_handle, int, const exec_arg *);
    int (*memory_create)(dnnl_handle *, const memory_desc *, dnnl_handle, void *);
    int (*memory_destroy)(dnnl_handle);
    int (*memory_set_data_handle)(dnnl_handle, void *);
    int (*stream_wait)(dnnl_handle);
} api;

static dnnl_handle engine;
static int available = -1;  // -1: not tried, 0: no, 1: yes
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    available = 0;
    int major = 0, minor = 0, patch = 0;
    if (!ek_onednn_load()) return;
    ek_onednn_version(&major, &minor, &patch);
    if (major != 2) return;  // 3.x replaced these descriptor functions
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!h) h = dlopen("libdnnl.so", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (!h) return;
#define SYM(field, name) if (!(*(void **)&api.field = dlsym(h, name))) return;
    SYM(engine_create, "dnnl_engine_create") SYM(stream_create, "dnnl_stream_create")
    SYM(md_init_by_strides, "dnnl_memory_desc_init_by_strides") SYM(matmul_desc_init, "dnnl_matmul_desc_init")
    SYM(attr_create, "dnnl_primitive_attr_create") SYM(attr_destroy, "dnnl_primitive_attr_destroy")
    SYM(post_ops_create, "dnnl_post_ops_create") SYM(post_ops_destroy, "dnnl_post_ops_destroy")
    SYM(post_ops_append_sum, "dnnl_post_ops_append_sum") SYM(attr_set_post_ops, "dnnl_primitive_attr_set_post_ops")
    SYM(attr_set_output_scales, "dnnl_primitive_attr_set_output_scales")
    SYM(pd_create, "dnnl_primitive_desc_create") SYM(pd_query, "dnnl_primitive_desc_query")
    SYM(pd_destroy, "dnnl_primitive_desc_destroy") SYM(primitive_create, "dnnl_primitive_create")
    SYM(primitive_destroy, "dnnl_primitive_destroy") SYM(primitive_execute, "dnnl_primitive_execute")
    SYM(memory_create, "dnnl_memory_create") SYM(memory_destroy, "dnnl_memory_destroy")
    SYM(memory_set_data_handle, "dnnl_memory_set_data_handle") SYM(stream_wait, "dnnl_stream_wait")
#undef SYM
    if (api.engine_create(&engine, dnnl_cpu, 0) != 0) return;
    available = 1;
}

int ek_onednn_matmul_available(void) {
    pthread_once(&once, load);
    return available == 1;
}

typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    float alpha;
    int trans_a, trans_b, accumulate, has_bias;
    int usable;  // 0: oneDNN had only a reference kernel for it; the caller falls back
    dnnl_handle primitive, a, b, c, bias;
} entry;

enum { cache_size = 48 };
static __thread entry cache[cache_size];
static __thread int cache_count, cache_next;
static __thread dnnl_handle stream;

// Destroys the entry's oneDNN objects; its key stays.
static void drop_objects(entry *e) {
    if (e->primitive) api.primitive_destroy(e->primitive);
    dnnl_handle mems[4] = {e->a, e->b, e->c, e->bias};
    for (int i = 0; i < 4; i++)
        if (mems[i]) api.memory_destroy(mems[i]);
    e->primitive = e->a = e->b = e->c = e->bias = NULL;
}

// Builds the primitive for C[m,n] = alpha op(A)[m,k] op(B)[k,n] (+ C) (+ bias[n]) in `e`
// (oneDNN 2.x: output scales apply before the sum post-op, as gemm's alpha and beta 1 do).
static void build(entry *e) {
    memory_desc a, b, c, bias;
    int64_t ad[2] = {e->m, e->k}, as[2] = {e->trans_a ? 1 : e->lda, e->trans_a ? e->lda : 1};
    int64_t bd[2] = {e->k, e->n}, bs[2] = {e->trans_b ? 1 : e->ldb, e->trans_b ? e->ldb : 1};
    int64_t cd[2] = {e->m, e->n}, cs[2] = {e->ldc, 1};
    int64_t biasd[2] = {1, e->n}, biass[2] = {e->n, 1};
    if (api.md_init_by_strides(&a, 2, ad, dnnl_bf16, as) || api.md_init_by_strides(&b, 2, bd, dnnl_bf16, bs) ||
        api.md_init_by_strides(&c, 2, cd, dnnl_f32, cs) || api.md_init_by_strides(&bias, 2, biasd, dnnl_f32, biass))
        return;
    matmul_desc desc;
    if (api.matmul_desc_init(&desc, &a, &b, e->has_bias ? &bias : NULL, &c)) return;
    dnnl_handle attr = NULL, post_ops = NULL, pd = NULL;
    if (e->accumulate || e->alpha != 1) {
        if (api.attr_create(&attr)) goto done;
        if (e->alpha != 1 && api.attr_set_output_scales(attr, 1, 0, &e->alpha)) goto done;
        if (e->accumulate && (api.post_ops_create(&post_ops) || api.post_ops_append_sum(post_ops, 1) ||
                              api.attr_set_post_ops(attr, post_ops)))
            goto done;
    }
    if (api.pd_create(&pd, &desc, attr, engine, NULL)) goto done;
    const char *impl = NULL;
    api.pd_query(pd, query_impl_info_str, 0, &impl);
    // Only the JIT kernels pay; "ref" would be far slower than the gemm API.
    if (!impl || strstr(impl, "ref")) goto done;
    if (api.primitive_create(&e->primitive, pd)) goto done;
    if (api.memory_create(&e->a, &a, engine, NULL) || api.memory_create(&e->b, &b, engine, NULL) ||
        api.memory_create(&e->c, &c, engine, NULL) || (e->has_bias && api.memory_create(&e->bias, &bias, engine, NULL)))
        goto done;
    e->usable = 1;
done:
    if (pd) api.pd_destroy(pd);
    if (post_ops) api.post_ops_destroy(post_ops);
    if (attr) api.attr_destroy(attr);
    if (!e->usable) drop_objects(e);  // the key stays, so the shape is not tried again
}

int ek_onednn_matmul_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const unsigned short *a, long lda,
                          const unsigned short *b, long ldb, int accumulate, float *c, long ldc, const float *bias) {
    if (!ek_onednn_matmul_available() || m <= 0 || n <= 0 || k <= 0) return 1;
    ek_onednn_pin_omp();
    if (!stream && api.stream_create(&stream, engine, stream_default_flags)) return 1;
    int has_bias = bias != NULL;
    entry *e = NULL;
    for (int i = 0; i < cache_count; i++) {
        entry *x = &cache[i];
        if (x->m == m && x->n == n && x->k == k && x->lda == lda && x->ldb == ldb && x->ldc == ldc &&
            x->alpha == alpha && x->trans_a == trans_a && x->trans_b == trans_b && x->accumulate == accumulate &&
            x->has_bias == has_bias) {
            e = x;
            break;
        }
    }
    if (!e) {
        if (cache_count < cache_size) e = &cache[cache_count++];
        else { e = &cache[cache_next]; cache_next = (cache_next + 1) % cache_size; drop_objects(e); }
        *e = (entry){.m = m, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .trans_a = trans_a,
                     .trans_b = trans_b, .accumulate = accumulate, .has_bias = has_bias};
        build(e);
    }
    if (!e->usable) return 1;
    api.memory_set_data_handle(e->a, (void *)a);
    api.memory_set_data_handle(e->b, (void *)b);
    api.memory_set_data_handle(e->c, c);
    exec_arg args[4] = {{arg_src, e->a}, {arg_weights, e->b}, {arg_dst, e->c}, {arg_bias, e->bias}};
    if (has_bias) api.memory_set_data_handle(e->bias, (void *)bias);
    if (api.primitive_execute(e->primitive, stream, has_bias ? 4 : 3, args)) return 1;
    api.stream_wait(stream);
    return 0;
}

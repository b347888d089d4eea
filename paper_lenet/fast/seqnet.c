/* Per-sample SDLM steps for nets.SeqNet (LeNet-1, LeNet-4, the fully connected nets of Fig. 9):
 * the fast path of paper_lenet.fast.seqnet, built from lenet5.c's own blocks (lenet5_ops.h).
 *
 * The net is a row of layers described at run time (layer_t): 5x5 convolutions with an optional
 * connection table, the trainable 2x2 subsampling (each output map pooling one input map, `src`),
 * and fully connected layers, every one squashed, then a squashed 10-unit output layer trained on
 * edist (targets +-1). For each sample in order: forward, loss, on-the-fly error (before the
 * update), backward, and w_k -= eps_k dE_p/dw_k, each layer's input gradient taken with its weights
 * before their own update, as lenet5.c and the autograd reference do.
 *
 * Layouts as in lenet5.c: a convolution's output is "wide" (row stride = its input's side si), its
 * gradient zero-padded by GPAD(si) floats in front of each map; pooled maps are compact.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "lenet5_ops.h"
#include "lenet5_heads.h"

#define SEQNET_ABI 1
#define MAXL 8
enum { L_CONV, L_POOL, L_FULL };

/* one layer, mirrored by paper_lenet/fast/abi.py's Layer Structure */
typedef struct {
    int32_t kind;       /* L_CONV, L_POOL, L_FULL */
    int32_t n_in, n_out;  /* maps (conv, pool) or units (full) */
    int32_t si, so;     /* input and output map sides (full: 1, 1) */
    int32_t pad_;
    const int16_t *kid; /* conv: kernel index for (o, i) (o * n_in + i), -1 unconnected; NULL dense */
    const int32_t *src; /* pool: the input map of each output map; NULL: the same index */
} layer_t;

typedef struct {
    float *x, *d, *g;   /* output, f'(a), dE/d(output) then dE/da (conv: padded, data at GPAD(si)) */
    float *s, *flat;    /* pool: the 2x2 sums; conv before a full layer: its valid outputs, compact */
    unsigned char *arg; /* pool_fwd's argmax slot (unused by subsampling) */
    int gs, n_x;        /* conv: one padded gradient map's floats; floats in x */
} buf_t;

static int out_floats(const layer_t *l)
{
    return l->kind == L_CONV ? l->n_out * l->so * l->si : l->kind == L_POOL ? l->n_out * l->so * l->so : l->n_out;
}

/* a conv read by a full layer (the next one, or the output layer after the last) */
static int flattened(const layer_t *L, int k, int n)
{
    return L[k].kind == L_CONV && (k + 1 == n || L[k + 1].kind == L_FULL);
}

/* what layer k + 1 reads: a flattened conv through its compact copy */
static const float *output_of(const layer_t *L, buf_t *B, int k, int n)
{
    return flattened(L, k, n) ? B[k].flat : B[k].x;
}

/* A convolution whose kernel covers its whole input map (so == 1: LeNet-4's C5 on 5x5 maps) is one
 * dot product per connected kernel over the map's si*si contiguous floats; the generic wide loops
 * would run thousands of length-1 reductions. Same layouts: output o at a[o * si] (wide, stride si),
 * gradient at g[o * gs]. */
static void conv1_fwd(const float *restrict x, int n_in, int si, const float *restrict w, const float *restrict b,
                      int n_out, const int16_t *kid, float *restrict a)
{
    const int m = si * si;
    for (int o = 0; o < n_out; o++) {
        float acc = 0.0f;
        for (int i = 0; i < n_in; i++) {
            const int kk = kid ? kid[o * n_in + i] : o * n_in + i;
            if (kk < 0) continue;
            const float *restrict wk = w + kk * m, *restrict xi = x + i * m;
#pragma omp simd reduction(+ : acc)
            for (int q = 0; q < m; q++) acc += wk[q] * xi[q];
        }
        a[o * si] = acc + b[o];
    }
}

/* dE/dx (compact, overwritten; NULL: not needed) with the old weights, then w -= r dE/dw, b -= r dE/db */
static void conv1_bwd_update(const float *restrict g, int gs, int n_out, int si, const float *restrict x, int n_in,
                             const int16_t *kid, float *restrict w, const float *restrict rw, float *restrict b,
                             const float *restrict rb, float *restrict dx)
{
    const int m = si * si;
    if (dx)
        for (int q = 0; q < n_in * m; q++) dx[q] = 0.0f;
    for (int o = 0; o < n_out; o++) {
        const float go = g[o * gs];
        for (int i = 0; i < n_in; i++) {
            const int kk = kid ? kid[o * n_in + i] : o * n_in + i;
            if (kk < 0) continue;
            float *restrict wk = w + kk * m;
            const float *restrict rk = rw + kk * m, *restrict xi = x + i * m;
            if (dx) {
                float *restrict di = dx + i * m;
                for (int q = 0; q < m; q++) di[q] += go * wk[q];
            }
            for (int q = 0; q < m; q++) wk[q] -= rk[q] * (go * xi[q]);
        }
        b[o] -= rb[o] * go;
    }
}

static float forward(const layer_t *L, int n, int n_last, buf_t *B, float *const *P, const opts_t *o,
                     const float *img, int64_t label, float *out, float *d7, float *gout)
{
    const float *in = img;
    for (int k = 0; k < n; k++) {
        const layer_t *l = &L[k];
        buf_t *b = &B[k];
        float *w = P[2 * k], *bias = P[2 * k + 1];
        if (l->kind == L_CONV) {
            if (l->so == 1)
                conv1_fwd(in, l->n_in, l->si, w, bias, l->n_out, l->kid, b->x);  /* (n_out, 1, 1) wide */
            else
                conv_fwd(in, l->n_in, l->si, w, bias, l->n_out, l->kid, b->x);  /* (n_out, so, so) wide */
            activate(b->x, b->d, b->n_x, o);
            if (flattened(L, k, n))
                for (int c = 0; c < l->n_out; c++)
                    for (int y = 0; y < l->so; y++)
                        memcpy(b->flat + (c * l->so + y) * l->so, b->x + c * l->so * l->si + y * l->si,
                               l->so * sizeof(float));
        } else if (l->kind == L_POOL) {  /* input: the conv before, wide (map stride so_c * si_c) */
            const int si = L[k - 1].si, ms = L[k - 1].so * si, m = l->so * l->so;
            for (int c = 0; c < l->n_out; c++)
                pool_fwd(in + (l->src ? l->src[c] : c) * ms, ms, si, 1, l->so, o, w + c, bias + c, b->s + c * m,
                         b->x + c * m, b->d + c * m, b->arg + c * m);  /* (n_out, so, so) */
        } else {
            dense_fwd(in, l->n_in, w, bias, l->n_out, b->x);  /* (n_out,) */
            activate(b->x, b->d, l->n_out, o);
        }
        in = output_of(L, B, k, n);
    }
    dense_fwd(in, n_last, P[2 * n], P[2 * n + 1], 10, out);  /* (10,) */
    activate(out, d7, 10, o);
    return edist_loss(out, d7, label, gout);
}

/* a full layer's input gradient (compact) into the conv below's padded wide gradient */
static void unflatten(const layer_t *c, buf_t *cb, const float *gin)
{
    for (int m = 0; m < c->n_out; m++)
        for (int y = 0; y < c->so; y++)
            for (int x = 0; x < c->so; x++)
                cb->g[m * cb->gs + GPAD(c->si) + y * c->si + x] = gin[(m * c->so + y) * c->so + x];
}

/* backward from gout (dE/da at the output) with the SDLM update of every parameter */
static void backward_update(const layer_t *L, int n, int n_last, buf_t *B, float *const *P, float *const *R,
                            const opts_t *o, const float *img, const float *gout, float *scratch, float *tmp)
{
    /* dE/d(last layer's output): straight into its g, or (a conv) through scratch, un-flattened */
    float *gx = L[n - 1].kind == L_CONV ? scratch : B[n - 1].g;
    dense_bwd_update(gout, 10, output_of(L, B, n - 1, n), n_last, P[2 * n], R[2 * n], P[2 * n + 1], R[2 * n + 1], gx);
    if (L[n - 1].kind == L_CONV) unflatten(&L[n - 1], &B[n - 1], scratch);
    for (int k = n - 1; k >= 0; k--) {
        const layer_t *l = &L[k];
        buf_t *b = &B[k];
        const float *in = k ? output_of(L, B, k - 1, n) : img;
        float *w = P[2 * k], *bias = P[2 * k + 1];
        if (l->kind == L_FULL) {
            for (int i = 0; i < l->n_out; i++) b->g[i] *= b->d[i];  /* dE/da */
            float *gin = scratch;  /* the input's gradient: where the layer below wants it */
            if (k && L[k - 1].kind != L_CONV) gin = B[k - 1].g;
            dense_bwd_update(b->g, l->n_out, in, l->n_in, w, R[2 * k], bias, R[2 * k + 1], gin);
            if (k && L[k - 1].kind == L_CONV) unflatten(&L[k - 1], &B[k - 1], gin);
        } else if (l->kind == L_POOL) {  /* pool_bwd turns g into dE/da, updates coef and bias */
            const layer_t *c = &L[k - 1];
            buf_t *cb = &B[k - 1];
            const int m = l->so * l->so, rows = 2 * l->so * c->si;
            for (int i = 0; i < c->n_out; i++) memset(cb->g + i * cb->gs + GPAD(c->si), 0, rows * sizeof(float));
            for (int ch = 0; ch < l->n_out; ch++) {  /* each map into tmp, added to its source's gradient */
                pool_bwd(b->g + ch * m, b->d + ch * m, b->s + ch * m, b->arg + ch * m, 1, l->so, o, w + ch, w + ch,
                         R[2 * k] + ch, bias + ch, R[2 * k + 1] + ch, tmp, rows, c->si);
                float *dst = cb->g + (l->src ? l->src[ch] : ch) * cb->gs + GPAD(c->si);
                for (int p = 0; p < rows; p++) dst[p] += tmp[p];
            }
        } else {  /* conv: g holds dE/dx (wide, padded); times f'(a), then input gradient, then update */
            const int so_si = l->so * l->si;
            for (int m = 0; m < l->n_out; m++) {
                float *restrict g = b->g + m * b->gs + GPAD(l->si);
                const float *restrict d = b->d + m * so_si;
                for (int p = 0; p < so_si; p++) g[p] *= d[p];
            }
            if (l->so == 1) {
                conv1_bwd_update(b->g + GPAD(l->si), b->gs, l->n_out, l->si, in, l->n_in, l->kid, w, R[2 * k], bias,
                                 R[2 * k + 1], k ? B[k - 1].g : NULL);
                continue;
            }
            if (k)  /* the layer below is a pool: its compact g */
                conv_bwd_input(b->g + GPAD(l->si), b->gs, l->n_out, l->si, w, l->kid, l->n_in, B[k - 1].g);
            conv_wgrad_update(b->g + GPAD(l->si), b->gs, l->n_out, l->si, in, l->n_in, l->kid, w, R[2 * k], bias,
                              R[2 * k + 1]);
        }
    }
}

/* 0 on success, -1 when memory cannot be had, -2 on an ABI mismatch, -3 on a layer list it cannot run */
int seqnet_run(const layer_t *L, int n, float *const *P, float *const *R, const opts_t *opts, const float *x,
               int side, const int64_t *y, const int64_t *idx, int64_t count, int64_t *errors, double *loss_sum)
{
    if (opts->abi != LENET5_ABI) return -2;
    if (n < 0 || n > MAXL) return -3;
    for (int k = 0; k < n; k++) {
        const int prev = k ? L[k - 1].kind : -1;
        if ((L[k].kind == L_POOL && prev != L_CONV) || (L[k].kind == L_CONV && prev == L_CONV)) return -3;
    }
    const opts_t o = *opts;
    buf_t B[MAXL];
    memset(B, 0, sizeof B);
    size_t big = (size_t)side * side + 16;  /* scratch: the largest gradient a full layer hands down */
    int rc = 0;
    for (int k = 0; k < n; k++) {
        const layer_t *l = &L[k];
        B[k].n_x = out_floats(l);
        B[k].gs = l->kind == L_CONV ? GPAD(l->si) + l->si * l->si : 0;
        const size_t ng = l->kind == L_CONV ? (size_t)l->n_out * B[k].gs + 8 : (size_t)B[k].n_x;
        B[k].x = calloc(B[k].n_x + 8, sizeof(float));
        B[k].d = calloc(B[k].n_x + 8, sizeof(float));
        B[k].g = calloc(ng, sizeof(float));
        B[k].s = calloc(B[k].n_x + 8, sizeof(float));
        B[k].flat = calloc(B[k].n_x + 8, sizeof(float));
        B[k].arg = calloc(B[k].n_x + 8, 1);
        if (!B[k].x || !B[k].d || !B[k].g || !B[k].s || !B[k].flat || !B[k].arg) rc = -1;
        if ((size_t)B[k].n_x + 16 > big) big = (size_t)B[k].n_x + 16;
        if (l->kind == L_CONV && (size_t)l->n_in * l->si * l->si + 16 > big) big = (size_t)l->n_in * l->si * l->si + 16;
    }
    float *scratch = calloc(big, sizeof(float)), *tmp = calloc(big, sizeof(float));
    float out[10], d7[10], gout[10];
    const int n_last = !n ? side * side : L[n - 1].kind == L_FULL ? L[n - 1].n_out : L[n - 1].n_out * L[n - 1].so * L[n - 1].so;
    if (!scratch || !tmp) rc = -1;
    int64_t err = 0;
    double ls = 0.0;
    for (int64_t t = 0; t < count && rc == 0; t++) {
        const int64_t s = idx[t];
        const float *img = x + s * (int64_t)side * side;
        const float e = forward(L, n, n_last, B, P, &o, img, y[s], out, d7, gout);
        err += predicted(out, HEAD_SQUASHED) != y[s];
        ls += (double)e;
        if (n)
            backward_update(L, n, n_last, B, P, R, &o, img, gout, scratch, tmp);
        else  /* no hidden layer: the output layer reads the image */
            dense_bwd_update(gout, 10, img, side * side, P[0], R[0], P[1], R[1], scratch);
    }
    for (int k = 0; k < n; k++) {
        free(B[k].x), free(B[k].d), free(B[k].g), free(B[k].s), free(B[k].flat), free(B[k].arg);
    }
    free(scratch), free(tmp);
    *errors = err;
    *loss_sum = ls;
    return rc;
}

size_t seqnet_opts_size(void) { return sizeof(opts_t); }
size_t seqnet_layer_size(void) { return sizeof(layer_t); }

const char *seqnet_names(void) { return "seqnet_abi=1;layer=conv,pool,full"; }

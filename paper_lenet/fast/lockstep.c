/* K LeNet-5 models in lockstep: per-sample SDLM steps of K seeds of one configuration in one call
 * (paper_lenet.training.lockstep). Each model has its own weights, rates, running h_kk, training images and
 * sample order; lane k of every vector holds model k's value (lockstep_ops.h), so one instruction
 * sequence steps all K. The maths of each lane is lenet5.c's (same expressions, same heads and
 * losses, called per lane from lenet5_heads.h; float32, no -ffast-math): only summation order differs.
 * build.py compiles one library per (IN_SIZE, LANES = K).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef IN_SIZE
#define IN_SIZE 32
#endif
#ifndef LANES
#define LANES 8
#endif
#define K LANES
#define H0 IN_SIZE
#define H1 (H0 - 4)
#define H2 (H1 / 2)
#define H3 (H2 - 4)
#define H4 (H3 / 2)
#define H5 (H4 - 4)
#define N5 (120 * H5 * H5)
#define P5 (H5 > 1 ? 120 * (H5 + 8) * (H5 + 8) : 1)  /* C5's padded gradient (a convolution only when H5 > 1) */

enum { C1W, C1B, S2C, S2B, C3W, C3B, S4C, S4B, C5W, C5B, F6W, F6B, F7W, F7B, C3M, NSLOT };

#include "opts.h"
#include "lenet5_ops.h"    /* activate (element-wise: layout-free), tanh_f */
#include "lenet5_heads.h"  /* the heads and losses, called per lane */
#include "lockstep_ops.h"
#include "lockstep_dense.h"

/* one step's activations and gradients for all K models, every array model-minor (x K floats) */
typedef struct {
    float x1[6 * H1 * H1 * K], d1[6 * H1 * H1 * K], g1[6 * H1 * H1 * K];
    float s2[6 * H2 * H2 * K], x2[6 * H2 * H2 * K], d2[6 * H2 * H2 * K], g2[6 * H2 * H2 * K], m2[6 * H2 * H2 * K];
    float x3[16 * H3 * H3 * K], d3[16 * H3 * H3 * K], g3[16 * H3 * H3 * K];
    float g3p[16 * (H3 + 8) * (H3 + 8) * K];  /* C3's gradient, zero-padded by 4: the full convolution's input */
    float s4[16 * H4 * H4 * K], x4[16 * H4 * H4 * K], d4[16 * H4 * H4 * K], g4[16 * H4 * H4 * K], m4[16 * H4 * H4 * K];
    float x5[N5 * K], d5[N5 * K], gx5[N5 * K], g5p[P5 * K];
    float x6[84 * K], d6[84 * K], g6[84 * K];
    float out[10 * K], d7[10 * K], gout[10 * K];
    float img[H0 * H0 * K];
    int16_t kid3[16 * 6];  /* C3 Table I: kernel index or -1 (as lenet5.c) */
} work_t;

/* copy a compact map's gradient into the interior of its zero-padded copy (borders stay 0) */
static void pad4(const float *restrict g, int n, int s, float *restrict gp)
{
    const int sp = s + 8;
    for (int c = 0; c < n; c++)
        for (int y = 0; y < s; y++)
            memcpy(gp + (int64_t)((c * sp + y + 4) * sp + 4) * K, g + (int64_t)((c * s + y) * s) * K,
                   sizeof(float) * s * K);
}

static void mul(float *restrict g, const float *restrict d, int n)
{
    for (int i = 0; i < n * K; i++) g[i] *= d[i];
}

/* lane k of v (n values) into the plain array a, and back */
static void lane_get(const float *restrict v, int n, int k, float *restrict a)
{
    for (int i = 0; i < n; i++) a[i] = v[i * K + k];
}

static void lane_put(const float *restrict a, int n, int k, float *restrict v)
{
    for (int i = 0; i < n; i++) v[i * K + k] = a[i];
}

/* forward of every lane on w->img; loss[k] = E_p of lane k; w->gout as lenet5.c's forward */
static void forward(float *const *P, const opts_t *o, work_t *w, const int64_t *label, float *loss)
{
    ls_conv_layer(w->img, 1, H0, P[C1W], P[C1B], 6, NULL, 0, w->x1);
    activate(w->x1, w->d1, 6 * H1 * H1 * K, o);
    ls_pool_fwd(w->x1, 6, H2, o, P[S2C], P[S2B], w->s2, w->x2, w->d2, w->m2);
    ls_conv_layer(w->x2, 6, H2, P[C3W], P[C3B], 16, w->kid3, 0, w->x3);
    activate(w->x3, w->d3, 16 * H3 * H3 * K, o);
    ls_pool_fwd(w->x3, 16, H4, o, P[S4C], P[S4B], w->s4, w->x4, w->d4, w->m4);
    if (H5 == 1)
        ls_dense_fwd(w->x4, 16 * H4 * H4, P[C5W], P[C5B], 120, w->x5);
    else
        ls_conv_layer(w->x4, 16, H4, P[C5W], P[C5B], 120, NULL, 0, w->x5);
    activate(w->x5, w->d5, N5 * K, o);
    ls_dense_fwd(w->x5, N5, P[F6W], P[F6B], 84, w->x6);
    activate(w->x6, w->d6, 84 * K, o);
    if (o->head != HEAD_RBF) {
        ls_dense_fwd(w->x6, 84, P[F7W], P[F7B], 10, w->out);
        if (o->head == HEAD_SQUASHED) activate(w->out, w->d7, 10 * K, o);
    }
    for (int k = 0; k < K; k++) {
        float x[84], c[840], y[10], g[10], d[10];
        if (o->head == HEAD_RBF) {
            lane_get(w->x6, 84, k, x);
            lane_get(P[F7W], 840, k, c);
            loss[k] = rbf_loss(x, c, label[k], o, y, g);
            lane_put(y, 10, k, w->out);
        } else {
            lane_get(w->out, 10, k, y);
            if (o->head == HEAD_SQUASHED) {
                lane_get(w->d7, 10, k, d);
                loss[k] = edist_loss(y, d, label[k], g);
            } else {
                loss[k] = ce_loss(y, label[k], g);
            }
        }
        lane_put(g, 10, k, w->gout);
    }
}

/* back-propagate from dE/dx6 in w->g6 and apply D -= R dE/dw (lenet5.c's backward_body: each
 * layer's input gradient is taken with its weights before their own update) */
static void backward_body(float *const *P, float *const *D, float *const *R, const opts_t *o, work_t *w,
                          const float *img)
{
    mul(w->g6, w->d6, 84);
    ls_dense_bwd(w->g6, 84, w->x5, N5, P[F6W], D[F6W], R[F6W], D[F6B], R[F6B], w->gx5);
    mul(w->gx5, w->d5, N5);
    if (H5 == 1) {
        ls_dense_bwd(w->gx5, 120, w->x4, 16 * H4 * H4, P[C5W], D[C5W], R[C5W], D[C5B], R[C5B], w->g4);
    } else {
        pad4(w->gx5, 120, H5, w->g5p);
        ls_conv_layer(w->g5p, 120, H5 + 8, P[C5W], NULL, 16, NULL, 1, w->g4);
        ls_conv_wgrad(w->gx5, 120, H4, w->x4, 16, NULL, D[C5W], R[C5W], D[C5B], R[C5B]);
    }
    ls_pool_bwd(w->g4, w->d4, w->s4, w->m4, 16, H4, o, P[S4C], D[S4C], R[S4C], D[S4B], R[S4B], w->g3, w->d3);
    pad4(w->g3, 16, H3, w->g3p);
    ls_conv_layer(w->g3p, 16, H3 + 8, P[C3W], NULL, 6, w->kid3, 1, w->g2);
    ls_conv_wgrad(w->g3, 16, H2, w->x2, 6, w->kid3, D[C3W], R[C3W], D[C3B], R[C3B]);
    ls_pool_bwd(w->g2, w->d2, w->s2, w->m2, 6, H2, o, P[S2C], D[S2C], R[S2C], D[S2B], R[S2B], w->g1, w->d1);
    ls_conv_wgrad(w->g1, 6, H0, img, 1, NULL, D[C1W], R[C1W], D[C1B], R[C1B]);
}

/* the head's backward into w->g6, then the body: the SDLM update when D == P */
static void backward(float *const *P, float *const *D, float *const *R, const opts_t *o, work_t *w)
{
    if (o->head == HEAD_RBF) {
        for (int k = 0; k < K; k++) {
            float x[84], c[840], g[10], gx[84];
            lane_get(w->x6, 84, k, x);
            lane_get(P[F7W], 840, k, c);
            lane_get(w->gout, 10, k, g);
            rbf_grad(x, c, g, gx);
            lane_put(gx, 84, k, w->g6);
        }
    } else {
        ls_dense_bwd(w->gout, 10, w->x6, 84, P[F7W], D[F7W], R[F7W], D[F7B], R[F7B], w->g6);
    }
    backward_body(P, D, R, o, w, w->img);
}

#include "lockstep_curv.h"

/* n steps of all K lanes: step t of lane k is sample idx[t*K + k] of lane k's images X[k] (side H0)
 * and labels Y[k]. P, R: the packed parameters and rates (slot s: size[s] * K floats; C3.mask and
 * RBF centers as read-only slots). S not NULL: hessian=running (lenet5.c's run), with Q, H, M as
 * scratch and hyper = {eta, mu, gamma, 1 - gamma}. errors[k], loss_sum[k]: lane k's on-the-fly
 * errors and summed loss. Returns 0, -1 when out of memory, -2 on an ABI mismatch. */
int lockstep_run(float *const *P, float *const *R, float *const *S, float *const *Q, float *const *H,
                 float *const *M, const int64_t *size, const float *hyper, const opts_t *opts,
                 const float *const *X, const int64_t *const *Y, const int64_t *idx, int64_t n, int64_t *errors,
                 double *loss_sum)
{
    if (opts->abi != LENET5_ABI) return -2;
    const opts_t o = *opts;
    work_t *w = aligned_alloc(64, (S ? 2 : 1) * ((sizeof(work_t) + 63) / 64 * 64));
    if (!w) return -1;
    memset(w, 0, (S ? 2 : 1) * ((sizeof(work_t) + 63) / 64 * 64));
    work_t *w2 = (work_t *)((char *)w + (sizeof(work_t) + 63) / 64 * 64);
    for (int i = 0, k = 0; i < 16 * 6; i++) w->kid3[i] = P[C3M][i * K] != 0.0f ? (int16_t)k++ : (int16_t)-1;
    for (int k = 0; k < K; k++) {
        errors[k] = 0;
        loss_sum[k] = 0.0;
    }
    for (int64_t t = 0; t < n; t++) {
        int64_t label[K];
        float loss[K];
        for (int k = 0; k < K; k++) {
            const int64_t s = idx[t * K + k];
            const float *im = X[k] + s * (int64_t)(H0 * H0);
            for (int p = 0; p < H0 * H0; p++) w->img[p * K + k] = im[p];
            label[k] = Y[k][s];
        }
        forward(P, &o, w, label, loss);
        for (int k = 0; k < K; k++) {
            float out[10];
            lane_get(w->out, 10, k, out);
            errors[k] += predicted(out, o.head) != label[k];
            loss_sum[k] += (double)loss[k];
        }
        if (S) {
            curvature_pass(P, Q, H, M, size, &o, w, w2);
            for (int s = 0; s < NSLOT; s++)
                for (int64_t i = 0; i < size[s] * K; i++) {
                    S[s][i] = hyper[3] * S[s][i] + hyper[2] * H[s][i];
                    R[s][i] = hyper[0] / (hyper[1] + fabsf(S[s][i]));
                }
        }
        backward(P, P, R, &o, w);
    }
    free(w);
    return 0;
}

/* the physical limit: n rounds of 12 independent lane-vector FMA chains (2 * 12 * K * n flops) */
float lockstep_fma_peak(int64_t n)
{
    vf a[12];
    const vf m = splat(0.999999f), c = splat(1e-7f);
    for (int j = 0; j < 12; j++) a[j] = splat((float)j);
    for (int64_t t = 0; t < n; t++) {
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++) a[j] = a[j] * m + c;
    }
    float s = 0.0f;
    for (int j = 0; j < 12; j++)
        for (int k = 0; k < K; k++) s += a[j][k];
    return s;
}

int lockstep_lanes(void) { return K; }
size_t lockstep_opts_size(void) { return sizeof(opts_t); }
const char *lockstep_names(void)
{
    return "abi=2;act=scaled_tanh,tanh,relu,identity;pool=subsample,avg,max;head=rbf,linear,squashed;"
           "loss=mse,map,cross_entropy,edist;slots=C1.weight,C1.bias,S2.coef,S2.bias,C3.weight,C3.bias,"
           "S4.coef,S4.bias,C5.weight,C5.bias,F6.weight,F6.bias,F7.weight,F7.bias,C3.mask";
}

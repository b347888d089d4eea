/* LeNet-5 per-sample SDLM steps in plain C: the fast path of paper_lenet.training.steppers.
 *
 * lenet5_run() takes a chunk of sample indices and, for each in order: forward on that image,
 * the loss E_p, the on-the-fly error (scored before the update, as the paper's Fig. 5), back-
 * propagation, and w_k -= eps_k dE_p/dw_k for every trainable parameter. It works in the memory
 * of the model's float32 tensors, so nothing is copied. In batch mode (minibatch optimizers) the
 * weights stay fixed and each sample's gradient is summed into separate buffers instead. The maths is the ReferenceStepper's;
 * float32 throughout and no -ffast-math: only summation order, FMA contraction and a tanh
 * within ~1 ulp of PyTorch's differ. build.py compiles one library per IN_SIZE so every
 * loop bound below is a constant.
 *
 * Convolution outputs are kept "wide": row stride = the input's side si, so output unit (y, x)
 * sits at p = y*si + x and the 5x5 taps read x[p + ki*si + kj]. Every conv loop is then one
 * long contiguous loop that gcc vectorises; the si-so wasted columns per row are computed and
 * ignored in the forward, and held at exactly 0 in the gradients.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef IN_SIZE
#define IN_SIZE 32
#endif
#define H0 IN_SIZE          /* input side (32 in the paper) */
#define H1 (H0 - 4)         /* C1 maps: 28 */
#define H2 (H1 / 2)         /* S2: 14 */
#define H3 (H2 - 4)         /* C3: 10 */
#define H4 (H3 / 2)         /* S4: 5 */
#define H5 (H4 - 4)         /* C5: 1 */
#define N5 (120 * H5 * H5)  /* F6 fan-in */


/* parameter slots, in the order stepper.py passes the pointers */
enum { C1W, C1B, S2C, S2B, C3W, C3B, S4C, S4B, C5W, C5B, F6W, F6B, F7W, F7B, C3M, NSLOT };

#include "opts.h"

/* one image's activations and gradients; x* outputs, d* f'(a), g* dE/d(output) then dE/da */
typedef struct {
    float x1[6][H1 * H0], d1[6][H1 * H0], g1[6][H1 * H0];      /* C1, wide (stride H0) */
    float s2[6][H2 * H2], x2[6][H2 * H2], d2[6][H2 * H2];      /* S2: pooled sums, output */
    float g2[6][H2 * H2];
    unsigned char m2[6][H2 * H2];                              /* S2 max-pool argmax (0..3) */
    float x3[16][H3 * H2], d3[16][H3 * H2];                    /* C3, wide (stride H2) */
    float g3[16][GPAD(H2) + H2 * H2];                          /* C3 grad, zero-padded for gather */
    float s4[16][H4 * H4], x4[16][H4 * H4], d4[16][H4 * H4];   /* S4 */
    float g4[16][H4 * H4];
    unsigned char m4[16][H4 * H4];
    float x5w[120 * H5 * H4], d5[120 * H5 * H4];               /* C5, wide (stride H4) */
    float g5[120][GPAD(H4) + H4 * H4];                         /* C5 grad (when H5 > 1) */
    float x5[N5], gx5[N5];                                     /* C5 flattened for F6 */
    float x6[84], d6[84], g6[84];                              /* F6 */
    float out[10], d7[10], gout[10];                           /* F7: RBF distances, logits or squashed */
    int16_t kid3[16 * 6];                                      /* C3 Table I: kernel index or -1 */
} work_t;

#include "lenet5_ops.h"
#include "lenet5_heads.h"

/* forward on one image; returns the loss E_p and fills w->out, w->gout = dE/d(F7 output) for the
 * RBF head, dE/d(F7's weighted sum) for the trainable heads */
static float forward(float *const *P, const opts_t *o, work_t *w, const float *restrict img, int64_t label)
{
    conv_fwd(img, 1, H0, P[C1W], P[C1B], 6, NULL, &w->x1[0][0]);          /* (6, 28, 28) wide */
    activate(&w->x1[0][0], &w->d1[0][0], 6 * H1 * H0, o);
    pool_fwd(&w->x1[0][0], H1 * H0, H0, 6, H2, o, P[S2C], P[S2B],         /* (6, 14, 14) */
             &w->s2[0][0], &w->x2[0][0], &w->d2[0][0], &w->m2[0][0]);
    conv_fwd(&w->x2[0][0], 6, H2, P[C3W], P[C3B], 16, w->kid3, &w->x3[0][0]);  /* (16, 10, 10) */
    activate(&w->x3[0][0], &w->d3[0][0], 16 * H3 * H2, o);
    pool_fwd(&w->x3[0][0], H3 * H2, H2, 16, H4, o, P[S4C], P[S4B],        /* (16, 5, 5) */
             &w->s4[0][0], &w->x4[0][0], &w->d4[0][0], &w->m4[0][0]);
    if (H5 == 1) {  /* C5 on a 5x5 input is a 400 -> 120 dot product */
        dense_fwd(&w->x4[0][0], 16 * H4 * H4, P[C5W], P[C5B], 120, w->x5);  /* (120,) */
        activate(w->x5, w->d5, 120, o);
    } else {  /* larger inputs: C5 is a convolution; flatten its valid units for F6 */
        conv_fwd(&w->x4[0][0], 16, H4, P[C5W], P[C5B], 120, NULL, w->x5w);
        activate(w->x5w, w->d5, 120 * H5 * H4, o);
        for (int c = 0; c < 120; c++)
            for (int y = 0; y < H5; y++)
                memcpy(&w->x5[(c * H5 + y) * H5], &w->x5w[(c * H5 + y) * H4], H5 * sizeof(float));
    }
    dense_fwd(w->x5, N5, P[F6W], P[F6B], 84, w->x6);                        /* (84,) */
    activate(w->x6, w->d6, 84, o);
    if (o->head == HEAD_RBF)
        return rbf_loss(w->x6, P[F7W], label, o, w->out, w->gout);          /* (10,) distances */
    dense_fwd(w->x6, 84, P[F7W], P[F7B], 10, w->out);                       /* (10,) logits */
    if (o->head == HEAD_SQUASHED) {                                          /* (10,) f(logits) */
        activate(w->out, w->d7, 10, o);
        return edist_loss(w->out, w->d7, label, w->gout);
    }
    return ce_loss(w->out, label, w->gout);
}

/* a fully connected layer's backward: in place for SDLM (D == P), into accumulators in batch mode */
static void dense_bwd(float *const *P, float *const *D, float *const *R, int wi, int bi, const float *ga,
                      int n_out, const float *x, int n_in, float *gx)
{
    if (D == P)
        dense_bwd_update(ga, n_out, x, n_in, P[wi], R[wi], P[bi], R[bi], gx);
    else
        dense_bwd_accum(ga, n_out, x, n_in, P[wi], D[wi], R[wi], D[bi], R[bi], gx);
}

static void backward_body(float *const *P, float *const *D, float *const *R, const opts_t *o, work_t *w,
                          const float *restrict img);

/* back-propagate from w->gout and apply D[k] -= R[k] dE_p/dw_k for every parameter: the SDLM
 * update when D is P (each layer's input gradient is taken with its weights before their own
 * update, as autograd then addcmul_ does), gradient accumulation when D holds other buffers */
static void backward_update(float *const *P, float *const *D, float *const *R, const opts_t *o, work_t *w,
                            const float *restrict img)
{
    if (o->head == HEAD_RBF)
        rbf_grad(w->x6, P[F7W], w->gout, w->g6);
    else
        dense_bwd(P, D, R, F7W, F7B, w->gout, 10, w->x6, 84, w->g6);
    backward_body(P, D, R, o, w, img);
}

/* F6 down to C1, from dE/dx6 in w->g6 (the curvature pass of lenet5_curv.h reuses it on squares) */
static void backward_body(float *const *P, float *const *D, float *const *R, const opts_t *o, work_t *w,
                          const float *restrict img)
{
    for (int i = 0; i < 84; i++) w->g6[i] *= w->d6[i];
    dense_bwd(P, D, R, F6W, F6B, w->g6, 84, w->x5, N5, w->gx5);                            /* (120,) */
    if (H5 == 1) {
        for (int i = 0; i < 120; i++) w->gx5[i] *= w->d5[i];
        dense_bwd(P, D, R, C5W, C5B, w->gx5, 120, &w->x4[0][0], 16 * H4 * H4, &w->g4[0][0]);  /* (16, 5, 5) */
    } else {  /* un-flatten into the zero-padded wide layout, then the conv backward */
        const int gs = GPAD(H4) + H4 * H4;
        for (int c = 0; c < 120; c++)
            for (int y = 0; y < H5; y++)
                for (int x = 0; x < H5; x++)
                    w->g5[c][GPAD(H4) + y * H4 + x] = w->gx5[(c * H5 + y) * H5 + x] * w->d5[(c * H5 + y) * H4 + x];
        conv_bwd_input(&w->g5[0][GPAD(H4)], gs, 120, H4, P[C5W], NULL, 16, &w->g4[0][0]);
        conv_wgrad_update(&w->g5[0][GPAD(H4)], gs, 120, H4, &w->x4[0][0], 16, NULL, D[C5W], R[C5W], D[C5B],
                          R[C5B]);
    }
    /* S4 -> C3: dE/da3 into the zero-padded wide buffer */
    const int gs3 = GPAD(H2) + H2 * H2;
    pool_bwd(&w->g4[0][0], &w->d4[0][0], &w->s4[0][0], &w->m4[0][0], 16, H4, o, P[S4C], D[S4C], R[S4C],
             D[S4B], R[S4B], &w->g3[0][GPAD(H2)], gs3, H2);                                       /* (16, 10, 10) */
    for (int c = 0; c < 16; c++) {
        float *restrict g = &w->g3[c][GPAD(H2)];
        const float *restrict d = w->d3[c];
        for (int p = 0; p < H3 * H2; p++) g[p] *= d[p];
    }
    conv_bwd_input(&w->g3[0][GPAD(H2)], gs3, 16, H2, P[C3W], w->kid3, 6, &w->g2[0][0]);  /* (6, 14, 14) */
    conv_wgrad_update(&w->g3[0][GPAD(H2)], gs3, 16, H2, &w->x2[0][0], 6, w->kid3, D[C3W], R[C3W], D[C3B],
                      R[C3B]);
    /* S2 -> C1 (nothing below C1 needs an input gradient) */
    pool_bwd(&w->g2[0][0], &w->d2[0][0], &w->s2[0][0], &w->m2[0][0], 6, H2, o, P[S2C], D[S2C], R[S2C],
             D[S2B], R[S2B], &w->g1[0][0], H1 * H0, H0);                                          /* (6, 28, 28) */
    for (int c = 0; c < 6; c++)
        for (int p = 0; p < H1 * H0; p++) w->g1[c][p] *= w->d1[c][p];
    conv_wgrad_update(&w->g1[0][0], H1 * H0, 6, H0, img, 1, NULL, D[C1W], R[C1W], D[C1B], R[C1B]);
}

/* a zeroed work area: the gradient pads and wasted columns that are never written stay 0, and so
 * do the unwritten tails of x1/x3 (f(0) = 0 for every squashing function); C3's kernels are packed
 * in (o, i) order over the connected pairs (all 96 when dense). NULL when it cannot be allocated. */
static work_t *work_new(float *const *P, int copies)
{
    work_t *w = aligned_alloc(64, copies * ((sizeof(work_t) + 63) / 64 * 64));
    if (!w) return NULL;
    memset(w, 0, copies * ((sizeof(work_t) + 63) / 64 * 64));
    for (int i = 0, k = 0; i < 16 * 6; i++) w->kid3[i] = P[C3M][i] != 0.0f ? (int16_t)k++ : (int16_t)-1;
    return w;
}

#include "lenet5_curv.h"

/* the whole chunk: returns 0, -1 when the work area cannot be allocated, -2 on an ABI mismatch.
 * SDLM: D == P, each sample updates the weights before the next is seen.
 * Batch mode (D != P): P stays fixed and D[k] -= R[k] dE_p/dw_k sums every sample's gradient
 * (R = -1 gives the plain sum); several calls may run at once on disjoint D.
 * hessian=running (S not NULL; SDLM only; steppers.ReferenceStepper._running_rates, SN2.8's gbp.c):
 * before each update, the pattern's h_p at the weights before it (curvature_pass), then for every
 * trainable parameter (size[k] > 0) sigma_k <- (1 - gamma) sigma_k + gamma h_pk in S and
 * R_k = eta / (mu + |sigma_k|); hyper = {eta, mu, gamma, 1 - gamma}; Q, H, M are scratch of the
 * parameters' sizes (M all -1). */
static int run(float *const *P, float *const *D, float *const *R, float *const *S, float *const *Q,
               float *const *H, float *const *M, const int64_t *size, const float *hyper, const opts_t *opts,
               const float *x, const int64_t *y, const int64_t *idx, int64_t n, int64_t *errors, double *loss_sum)
{
    if (opts->abi != LENET5_ABI) return -2;
    const opts_t o = *opts;
    work_t *w = work_new(P, S ? 2 : 1);
    float *img2 = malloc(H0 * H0 * sizeof(float));
    if (!w || !img2) {
        free(w);
        free(img2);
        return -1;
    }
    int64_t err = 0;
    double ls = 0.0;
    for (int64_t t = 0; t < n; t++) {
        int64_t s = idx[t];
        const float *img = x + s * (int64_t)(H0 * H0);
        float e = forward(P, &o, w, img, y[s]);
        err += predicted(w->out, o.head) != y[s];
        ls += (double)e;  /* the reference adds loss.item(): the float32 loss as a Python float */
        if (S) {
            curvature_pass(P, Q, H, M, size, &o, w, w + 1, img, img2);
            for (int k = 0; k < NSLOT; k++)
                for (int64_t i = 0; i < size[k]; i++) {
                    S[k][i] = hyper[3] * S[k][i] + hyper[2] * H[k][i];
                    R[k][i] = hyper[0] / (hyper[1] + fabsf(S[k][i]));
                }
        }
        backward_update(P, D, R, &o, w, img);
    }
    free(w);
    free(img2);
    *errors = err;
    *loss_sum = ls;
    return 0;
}

int lenet5_run(float *const *P, float *const *D, float *const *R, const opts_t *opts, const float *x,
               const int64_t *y, const int64_t *idx, int64_t n, int64_t *errors, double *loss_sum)
{
    return run(P, D, R, NULL, NULL, NULL, NULL, NULL, NULL, opts, x, y, idx, n, errors, loss_sum);
}

int lenet5_run_running(float *const *P, float *const *R, float *const *S, float *const *Q, float *const *H,
                       float *const *M, const int64_t *size, const float *hyper, const opts_t *opts,
                       const float *x, const int64_t *y, const int64_t *idx, int64_t n, int64_t *errors,
                       double *loss_sum)
{
    return S ? run(P, P, R, S, Q, H, M, size, hyper, opts, x, y, idx, n, errors, loss_sum) : -1;
}

/* the layout and names the Python side must agree with (checked by abi.py at load) */
size_t lenet5_opts_size(void) { return sizeof(opts_t); }

const char *lenet5_names(void)
{
    return "abi=2;act=scaled_tanh,tanh,relu,identity;pool=subsample,avg,max;head=rbf,linear,squashed;"
           "loss=mse,map,cross_entropy,edist;slots=C1.weight,C1.bias,S2.coef,S2.bias,C3.weight,C3.bias,"
           "S4.coef,S4.bias,C5.weight,C5.bias,F6.weight,F6.bias,F7.weight,F7.bias,C3.mask";
}

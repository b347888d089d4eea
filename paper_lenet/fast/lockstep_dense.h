/* The fully connected layers of lockstep.c (included after lockstep_ops.h): K models' weights in
 * model-minor layout, one weight vector per multiply-add. */

/* ---- fully connected (C5 on a 5x5 input, F6, linear F7) ----------------------------------- */

/* a[o] = sum_j w[o][j] x[j] + b[o], 8 outputs at a time: 8 independent chains sharing each x[j] */
static void ls_dense_fwd(const float *restrict x, int n_in, const float *restrict w, const float *restrict b,
                      int n_out, float *restrict a)
{
    int o = 0;
    for (; o + 8 <= n_out; o += 8) {
        vf acc[8];
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) acc[q] = splat(0.0f);
        for (int j = 0; j < n_in; j++) {
            const vf xj = AT(x, j);
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) acc[q] += AT(w, (int64_t)(o + q) * n_in + j) * xj;
        }
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) AT(a, o + q) = acc[q] + AT(b, o + q);
    }
    for (; o < n_out; o++) {
        vf acc = splat(0.0f);
        for (int j = 0; j < n_in; j++) acc += AT(w, (int64_t)o * n_in + j) * AT(x, j);
        AT(a, o) = acc + AT(b, o);
    }
}

/* ga = dE/da: gx = W^T ga with the weights before their update, then D -= R (ga x^T), Db -= Rb ga.
 * D == W (SDLM, in place) or accumulators (curvature pass): each element is read before it is
 * written in the same iteration, so the two may be the same memory. Rows stream contiguously (the
 * weights of K models outgrow the L2 cache: this loop runs at memory speed), two at a time so
 * that gx is loaded and stored once per pair. */
static void ls_dense_bwd(const float *restrict ga, int n_out, const float *restrict x, int n_in, const float *w,
                         float *D, const float *restrict R, float *Db, const float *restrict Rb, float *restrict gx)
{
    for (int j = 0; j < n_in; j++) AT(gx, j) = splat(0.0f);
    int o = 0;
    for (; o + 2 <= n_out; o += 2) {
        const vf g0 = AT(ga, o), g1 = AT(ga, o + 1);
        const float *w0 = w + (int64_t)o * n_in * K, *w1 = w0 + (int64_t)n_in * K;
        const float *r0 = R + (int64_t)o * n_in * K, *r1 = r0 + (int64_t)n_in * K;
        float *d0 = D + (int64_t)o * n_in * K, *d1 = d0 + (int64_t)n_in * K;
        for (int j = 0; j < n_in; j++) {
            const vf a = AT(w0, j), b = AT(w1, j), xj = AT(x, j);
            AT(gx, j) += g0 * a + g1 * b;
            AT(d0, j) -= AT(r0, j) * (g0 * xj);
            AT(d1, j) -= AT(r1, j) * (g1 * xj);
        }
    }
    for (; o < n_out; o++) {
        const vf go = AT(ga, o);
        const float *wo = w + (int64_t)o * n_in * K, *ro = R + (int64_t)o * n_in * K;
        float *dwo = D + (int64_t)o * n_in * K;
        for (int j = 0; j < n_in; j++) {
            const vf wv = AT(wo, j);
            AT(gx, j) += go * wv;
            AT(dwo, j) -= AT(ro, j) * (go * AT(x, j));
        }
    }
    for (int o2 = 0; o2 < n_out; o2++) AT(Db, o2) -= AT(Rb, o2) * AT(ga, o2);
}

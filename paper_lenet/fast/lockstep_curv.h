/* hessian=running in lockstep.c (included after backward_body, in the same translation unit): every
 * lane's Gauss-Newton diagonal h_p, as lenet5_curv.h computes one model's: backward_body run on a
 * squared copy of the forward pass, from the loss's own exact second derivative (per lane). */

/* s[u] = the sum of the squares of the 4 inputs pool_fwd sums into unit u */
static void ls_pool_sq(const float *restrict in, int n, int so, float *restrict s)
{
    const int si = 2 * so;
    for (int c = 0; c < n; c++)
        for (int y = 0; y < so; y++)
            for (int xx = 0; xx < so; xx++) {
                const float *t = in + (int64_t)(c * si * si + 2 * y * si + 2 * xx) * K;
                const vf v0 = AT(t, 0), v1 = AT(t, 1), v2 = AT(t, si), v3 = AT(t, si + 1);
                AT(s, (c * so + y) * so + xx) = ((v0 * v0 + v1 * v1) + v2 * v2) + v3 * v3;
            }
}

/* every lane's h_p (lenet5_curv.h's curvature_pass, lane-wise): backward_body on a squared copy
 * w2 of the forward pass with Q = P^2, D = H (zeroed), R = M (-1: a plain sum) */
static void curvature_pass(float *const *P, float *const *Q, float *const *H, float *const *M,
                           const int64_t *size, const opts_t *o, const work_t *w, work_t *w2)
{
    for (int s = 0; s < NSLOT; s++)
        for (int64_t i = 0; i < size[s] * K; i++) {
            Q[s][i] = P[s][i] * P[s][i];
            H[s][i] = 0.0f;
        }
    memcpy(w2, w, sizeof *w2);
    mul(w2->d1, w->d1, 6 * H1 * H1);
    mul(w2->x2, w->x2, 6 * H2 * H2);
    mul(w2->d2, w->d2, 6 * H2 * H2);
    mul(w2->d3, w->d3, 16 * H3 * H3);
    mul(w2->x4, w->x4, 16 * H4 * H4);
    mul(w2->d4, w->d4, 16 * H4 * H4);
    mul(w2->d5, w->d5, N5);
    mul(w2->x5, w->x5, N5);
    mul(w2->d6, w->d6, 84);
    mul(w2->x6, w->x6, 84);
    mul(w2->img, w->img, H0 * H0);
    if (o->pool == POOL_SUBSAMPLE) {
        ls_pool_sq(w->x1, 6, H2, w2->s2);
        ls_pool_sq(w->x3, 16, H4, w2->s4);
    }
    opts_t o2 = *o;
    o2.sub_k = o->sub_k * o->sub_k;
    if (o->head == HEAD_RBF) {
        for (int k = 0; k < K; k++) {
            float x[84], c[840], y[10], h[84];
            lane_get(w->x6, 84, k, x);
            lane_get(P[F7W], 840, k, c);
            lane_get(w->out, 10, k, y);
            rbf_curv(x, c, y, o, h);
            lane_put(h, 84, k, w2->g6);
        }
    } else {
        float g[10 * K];
        for (int k = 0; k < K; k++) {
            float z[10], d[10], h[10];
            lane_get(w->out, 10, k, z);
            lane_get(w->d7, 10, k, d);
            if (o->head == HEAD_SQUASHED) {
                for (int i = 0; i < 10; i++) h[i] = d[i] * d[i];
            } else {  /* softmax cross-entropy: p (1 - p) */
                float m = z[0], s = 0.0f;
                for (int i = 1; i < 10; i++) m = fmaxf(m, z[i]);
                for (int i = 0; i < 10; i++) s += expf(z[i] - m);
                for (int i = 0; i < 10; i++) {
                    const float p = expf(z[i] - m) / s;
                    h[i] = p * (1.0f - p);
                }
            }
            lane_put(h, 10, k, g);
        }
        ls_dense_bwd(g, 10, w2->x6, 84, Q[F7W], H[F7W], M[F7W], H[F7B], M[F7B], w2->g6);
    }
    backward_body(Q, H, M, &o2, w2, w2->img);
}

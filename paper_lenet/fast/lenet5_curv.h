/* One pattern's Gauss-Newton diagonal h_p (sdlm.curvature's, eq. 23-27) for lenet5.c's running
 * h_kk (included by lenet5.c after backward_body, in the same translation unit).
 *
 * Second derivatives back-propagate exactly as first derivatives do, with every factor squared:
 * squared weights (Q = P^2), squared f'(a), squared layer inputs, and for S2/S4's shared coefficient
 * the sum of its 4 squared inputs (eq. 23: a shared weight sums x^2 over its connections, not the
 * square of their sum). So the curvature pass is backward_body itself, run on a squared copy of the
 * forward pass with D = H and R = -1 (a plain sum into H), started from the loss's own exact second
 * derivative (losses.output_curvature). */

static void square(float *restrict v, int n)
{
    for (int i = 0; i < n; i++) v[i] *= v[i];
}

/* s[u] = the sum of the squares of the 4 inputs pool_fwd sums into unit u */
static void pool_sq(const float *restrict xin, int ms, int si, int n, int so, float *restrict s)
{
    for (int c = 0; c < n; c++)
        for (int y = 0; y < so; y++)
            for (int xx = 0; xx < so; xx++) {
                const float *t = xin + c * ms + 2 * y * si + 2 * xx;
                s[(c * so + y) * so + xx] = ((t[0] * t[0] + t[1] * t[1]) + t[si] * t[si]) + t[si + 1] * t[si + 1];
            }
}

/* H[k] = h_p for every slot with size[k] > 0, at the weights P before this pattern's update; w holds
 * the pattern's forward pass (read only), w2 and img2 are scratch. Heads: rbf with mse or map, linear
 * with cross-entropy (p (1 - p) at the logits), squashed with edist (1 at the outputs, times f'^2). */
static void curvature_pass(float *const *P, float *const *Q, float *const *H, float *const *M,
                           const int64_t *size, const opts_t *o, const work_t *w, work_t *w2,
                           const float *restrict img, float *restrict img2)
{
    for (int k = 0; k < NSLOT; k++)
        for (int64_t i = 0; i < size[k]; i++) {
            Q[k][i] = P[k][i] * P[k][i];
            H[k][i] = 0.0f;
        }
    memcpy(w2, w, sizeof *w2);
    square(&w2->d1[0][0], 6 * H1 * H0);
    square(&w2->x2[0][0], 6 * H2 * H2);
    square(&w2->d2[0][0], 6 * H2 * H2);
    square(&w2->d3[0][0], 16 * H3 * H2);
    square(&w2->x4[0][0], 16 * H4 * H4);
    square(&w2->d4[0][0], 16 * H4 * H4);
    square(w2->d5, 120 * H5 * H4);
    square(w2->x5, N5);
    square(w2->d6, 84);
    square(w2->x6, 84);
    if (o->pool == POOL_SUBSAMPLE) {
        pool_sq(&w->x1[0][0], H1 * H0, H0, 6, H2, &w2->s2[0][0]);
        pool_sq(&w->x3[0][0], H3 * H2, H2, 16, H4, &w2->s4[0][0]);
    }
    for (int i = 0; i < H0 * H0; i++) img2[i] = img[i] * img[i];
    opts_t o2 = *o;
    o2.sub_k = o->sub_k * o->sub_k;  /* (k coef)^2 on the way down, k^2 sum x^2 for the coefficient */
    if (o->head == HEAD_RBF) {
        rbf_curv(w->x6, P[F7W], w->out, o, w2->g6);
    } else {
        float g[10];
        if (o->head == HEAD_SQUASHED) {
            for (int i = 0; i < 10; i++) g[i] = w->d7[i] * w->d7[i];
        } else {  /* softmax cross-entropy: p (1 - p) */
            float m = w->out[0], z = 0.0f;
            for (int i = 1; i < 10; i++) m = fmaxf(m, w->out[i]);
            for (int i = 0; i < 10; i++) z += expf(w->out[i] - m);
            for (int i = 0; i < 10; i++) {
                const float p = expf(w->out[i] - m) / z;
                g[i] = p * (1.0f - p);
            }
        }
        dense_bwd(Q, H, M, F7W, F7B, g, 10, w2->x6, 84, w2->g6);
    }
    backward_body(Q, H, M, &o2, w2, img2);
}

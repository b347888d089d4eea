/* Building blocks of lockstep.c: the layers of lenet5_ops.h for K models at once, in model-minor
 * layout (value i of model k at a[i*K + k]; one "lane vector" vf holds one value of all K models).
 * Every loop runs over whole lane vectors, so each arithmetic instruction is a full-width one for
 * any K the vector unit holds; maps are compact (no wasted columns: vectorisation is across models,
 * not along a row). Weights are every model's own, so the convolutions block several outputs per
 * weight load, and dense layers stream one weight vector per multiply-add.
 *
 * vf is a GCC/clang vector extension type (portable C, no intrinsics): the compiler lowers it to
 * whatever the -march flags give (two AVX2 registers for K = 16, SSE2 pieces in a portable build).
 */

typedef float vf __attribute__((vector_size(4 * K), aligned(4), may_alias));
typedef int32_t vi __attribute__((vector_size(4 * K), aligned(4), may_alias));
#define AT(a, i) (*(vf *)((a) + (int64_t)(i) * K))  /* lane vector i of a packed array */

static inline vf splat(float a)
{
    vf v;
    for (int k = 0; k < K; k++) v[k] = a;
    return v;
}

/* XB outputs of row r (acc) += kernel row kr (of wk, flip: rotated) times the input row at `row` */
static inline __attribute__((always_inline)) void conv_row_taps(vf *acc, const vf *x, const float *restrict wk, int kr,
                                                                int flip, const int XB)
{
    vf w[5];
#pragma GCC unroll 5
    for (int kj = 0; kj < 5; kj++) w[kj] = AT(wk, flip ? 24 - kr * 5 - kj : kr * 5 + kj);
#pragma GCC unroll 5
    for (int kj = 0; kj < 5; kj++)
#pragma GCC unroll 8
        for (int b = 0; b < XB; b++) acc[b] += w[kj] * x[b + kj];  /* one FMA each, XB chains */
}

/* out[r][c] (+)= sum_{ki,kj} w[tap(ki,kj)] in[r+ki][c+kj] over an so x so output, two rows and XB
 * columns at a time: each input row is loaded once for the 2 x 5 kernel-row taps it takes part in,
 * the 5 weights of a kernel row once for XB outputs, and 2 XB chains hide the FMA latency. flip:
 * the kernel is read rotated by 180 degrees (the full convolution of an input gradient), and the
 * padded gradient's 4 zero rows on each side are skipped. Each tap is one FMA into its output's
 * chain, kernel rows in order (lenet5_ops.h sums a kernel row first: only summation order differs). */
static inline __attribute__((always_inline)) void ls_conv_rows(const float *restrict in, int si, const float *restrict wk,
                                                             int flip, float *restrict out, int so, const int XB)
{
    const int pad = flip ? 4 : 0;
    int r = 0;
    for (; r + 2 <= so; r += 2)
        for (int c0 = 0; c0 < so; c0 += XB) {
            vf a0[8], a1[8], x[12];
#pragma GCC unroll 8
            for (int b = 0; b < XB; b++) {
                a0[b] = AT(out, r * so + c0 + b);
                a1[b] = AT(out, (r + 1) * so + c0 + b);
            }
            for (int t = 0; t < 6; t++) {
                if (r + t < pad || r + t >= si - pad) continue;
                const float *row = in + (int64_t)((r + t) * si + c0) * K;
#pragma GCC unroll 12
                for (int q = 0; q < XB + 4; q++) x[q] = AT(row, q);
                if (t < 5) conv_row_taps(a0, x, wk, t, flip, XB);
                if (t > 0) conv_row_taps(a1, x, wk, t - 1, flip, XB);
            }
#pragma GCC unroll 8
            for (int b = 0; b < XB; b++) {
                AT(out, r * so + c0 + b) = a0[b];
                AT(out, (r + 1) * so + c0 + b) = a1[b];
            }
        }
    for (; r < so; r++)  /* an odd last row */
        for (int c0 = 0; c0 < so; c0 += XB) {
            vf a0[8], x[12];
#pragma GCC unroll 8
            for (int b = 0; b < XB; b++) a0[b] = AT(out, r * so + c0 + b);
            for (int t = 0; t < 5; t++) {
                if (r + t < pad || r + t >= si - pad) continue;
                const float *row = in + (int64_t)((r + t) * si + c0) * K;
#pragma GCC unroll 12
                for (int q = 0; q < XB + 4; q++) x[q] = AT(row, q);
                conv_row_taps(a0, x, wk, t, flip, XB);
            }
#pragma GCC unroll 8
            for (int b = 0; b < XB; b++) AT(out, r * so + c0 + b) = a0[b];
        }
}

/* kid[o*n_in + i] of the layer (NULL: dense): the kernel output map o applies to input map i, -1 if none */
static inline int kernel_of(const int16_t *kid, int o, int i, int n_in)
{
    return kid ? kid[o * n_in + i] : o * n_in + i;
}

/* the widest column block (<= 8) dividing so, so that no row needs a remainder loop */
static int col_block(int so)
{
    for (int b = 8; b > 1; b--)
        if (so % b == 0) return b;
    return 1;
}

/* forward (flip 0): n_b maps out[o] = b[o] + sum_i conv(in[i], w[kid(o, i)]); the layer's n_in = n_a.
 * input gradient (flip 1): in = the layer's n_a output gradients, zero-padded by 4 on every side,
 * out = its n_b input gradients; kid(o, i) with o the gradient's map, i the input map (n_in = n_b). */
static void ls_conv_layer(const float *restrict in, int n_a, int si, const float *restrict w, const float *b,
                       int n_b, const int16_t *kid, int flip, float *restrict out)
{
    const int so = si - 4, xb = col_block(so);
    for (int o = 0; o < n_b; o++) {
        float *ao = out + (int64_t)o * so * so * K;
        vf init = splat(0.0f);
        if (b) init = AT(b, o);
        for (int p = 0; p < so * so; p++) AT(ao, p) = init;
        for (int i = 0; i < n_a; i++) {
            const int kk = flip ? kernel_of(kid, i, o, n_b) : kernel_of(kid, o, i, n_a);
            if (kk < 0) continue;
            const float *x = in + (int64_t)i * si * si * K, *wk = w + (int64_t)kk * 25 * K;
            switch (xb) {  /* a constant block width for each: the accumulators stay in registers */
            case 8: ls_conv_rows(x, si, wk, flip, ao, so, 8); break;
            case 7: ls_conv_rows(x, si, wk, flip, ao, so, 7); break;
            case 6: ls_conv_rows(x, si, wk, flip, ao, so, 6); break;
            case 5: ls_conv_rows(x, si, wk, flip, ao, so, 5); break;
            case 4: ls_conv_rows(x, si, wk, flip, ao, so, 4); break;
            case 3: ls_conv_rows(x, si, wk, flip, ao, so, 3); break;
            case 2: ls_conv_rows(x, si, wk, flip, ao, so, 2); break;
            default: ls_conv_rows(x, si, wk, flip, ao, so, 1); break;
            }
        }
    }
}

/* dE/dw[kk][ki][kj] = sum_{r,c} g[o][r][c] x[i][r+ki][c+kj], dE/db[o] = sum g[o]; then
 * D -= R dE/dw, Db -= Rb dE/db (D the weights for SDLM, accumulators for the curvature pass).
 * Two columns per iteration into two sets of 5 sums: 10 independent chains. */
static void ls_conv_wgrad(const float *restrict g, int n_out, int si, const float *restrict x, int n_in,
                       const int16_t *kid, float *D, const float *R, float *Db, const float *Rb)
{
    const int so = si - 4;
    for (int o = 0; o < n_out; o++) {
        const float *go = g + (int64_t)o * so * so * K;
        vf sb = splat(0.0f);
        for (int p = 0; p < so * so; p++) sb += AT(go, p);
        for (int i = 0; i < n_in; i++) {
            const int kk = kernel_of(kid, o, i, n_in);
            if (kk < 0) continue;
            float *wk = D + (int64_t)kk * 25 * K;
            const float *rk = R + (int64_t)kk * 25 * K, *xi = x + (int64_t)i * si * si * K;
            for (int ki = 0; ki < 5; ki++) {
                vf s[5], t[5];
#pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++) s[kj] = t[kj] = splat(0.0f);
                for (int r = 0; r < so; r++) {
                    const float *row = xi + (int64_t)(r + ki) * si * K, *gr = go + (int64_t)r * so * K;
                    int c = 0;
                    for (; c + 1 < so; c += 2) {
                        const vf g0 = AT(gr, c), g1 = AT(gr, c + 1);
                        vf xv[6];
#pragma GCC unroll 6
                        for (int q = 0; q < 6; q++) xv[q] = AT(row, c + q);
#pragma GCC unroll 5
                        for (int kj = 0; kj < 5; kj++) {
                            s[kj] += g0 * xv[kj];
                            t[kj] += g1 * xv[kj + 1];
                        }
                    }
                    if (c < so) {
                        const vf g0 = AT(gr, c);
#pragma GCC unroll 5
                        for (int kj = 0; kj < 5; kj++) s[kj] += g0 * AT(row, c + kj);
                    }
                }
#pragma GCC unroll 5
                for (int kj = 0; kj < 5; kj++) AT(wk, ki * 5 + kj) -= AT(rk, ki * 5 + kj) * (s[kj] + t[kj]);
            }
        }
        AT(Db, o) -= AT(Rb, o) * sb;
    }
}

/* ---- S2/S4: 2x2 pooling of n compact maps of side 2 so ---------------------------------- */

static void ls_pool_fwd(const float *restrict in, int n, int so, const opts_t *o, const float *coef,
                     const float *bias, float *restrict s, float *restrict x, float *restrict d,
                     float *restrict arg)
{
    const int si = 2 * so;
    for (int c = 0; c < n; c++) {
        vf kc = splat(0.0f), bc = splat(0.0f);
        if (o->pool == POOL_SUBSAMPLE) {
            kc = o->sub_k * AT(coef, c);
            bc = AT(bias, c);
        }
        for (int y = 0; y < so; y++)
            for (int xx = 0; xx < so; xx++) {
                const float *t = in + (int64_t)(c * si * si + 2 * y * si + 2 * xx) * K;
                const vf v0 = AT(t, 0), v1 = AT(t, 1), v2 = AT(t, si), v3 = AT(t, si + 1);
                const int u = (c * so + y) * so + xx;
                if (o->pool == POOL_MAX) {  /* first of ties, a NaN wins: as lenet5_ops.h (and PyTorch) */
                    vf m = v0, a = splat(0.0f);
                    const vf vs[3] = {v1, v2, v3};
                    for (int q = 0; q < 3; q++) {
                        const vi take = (vs[q] > m) | (vs[q] != vs[q]);
                        m = (vf)((take & (vi)vs[q]) | (~take & (vi)m));
                        a = (vf)((take & (vi)splat((float)(q + 1))) | (~take & (vi)a));
                    }
                    AT(arg, u) = a;
                    AT(x, u) = m;
                } else {
                    const vf sum = ((v0 + v1) + v2) + v3;
                    AT(s, u) = sum;
                    AT(x, u) = o->pool == POOL_AVG ? sum / 4.0f : sum * kc + bc;
                }
            }
    }
    if (o->pool == POOL_SUBSAMPLE) activate(x, d, n * so * so * K, o);
}

/* g: dE/dx at the pool's output (overwritten by dE/da); writes dE/da at its compact input g_in
 * (dE/dx times the layer below's f'(a), d_in), then dcoef -= rc dE/dcoef, dbias -= rb dE/dbias (the coefficient read before its update) */
static void ls_pool_bwd(float *restrict g, const float *restrict d, const float *restrict s, const float *restrict arg,
                     int n, int so, const opts_t *o, const float *coef, float *dcoef, const float *rc, float *dbias,
                     const float *rb, float *restrict g_in, const float *restrict d_in)
{
    const int si = 2 * so;
    for (int c = 0; c < n; c++) {
        vf kc = splat(0.25f), gc = splat(0.0f), gb = splat(0.0f);
        if (o->pool == POOL_SUBSAMPLE) {
            kc = o->sub_k * AT(coef, c);
            for (int u = c * so * so; u < (c + 1) * so * so; u++) {
                const vf gu = AT(g, u) * AT(d, u);
                AT(g, u) = gu;
                gc += gu * AT(s, u);
                gb += gu;
            }
        }
        for (int y = 0; y < si; y++)
            for (int xx = 0; xx < si; xx++) {
                const int u = (c * so + y / 2) * so + xx / 2;
                const vf gu = AT(g, u);
                vf v;
                if (o->pool == POOL_MAX)
                    v = (vf)((AT(arg, u) == splat((float)((y & 1) * 2 + (xx & 1)))) & (vi)gu);
                else
                    v = gu * kc;
                AT(g_in, (c * si + y) * si + xx) = v * AT(d_in, (c * si + y) * si + xx);
            }
        if (o->pool == POOL_SUBSAMPLE) {
            AT(dcoef, c) -= AT(rc, c) * (gc * o->sub_k);
            AT(dbias, c) -= AT(rb, c) * gb;
        }
    }
}

/* Building blocks of lenet5.c (included there, one translation unit, so gcc inlines and
 * specialises them): squashing functions, 5x5 convolutions in the wide layout, S2/S4
 * pooling, fully connected layers and the two output heads with their losses.
 * Loops are written to vectorise without -ffast-math: element-wise loops, and dot products
 * marked `omp simd reduction` (needs only -fopenmp-simd; no OpenMP runtime).
 */

/* ---- squashing functions: x = f(a) in place, d = f'(a) ---------------------------------- */

enum { ACT_SCALED_TANH, ACT_TANH, ACT_RELU, ACT_IDENTITY };
/* A, S and A*S (taken in double then cast, as PyTorch's) arrive in opts_t from paper_lenet.core.layers */

/* e^y for 0 <= y <= 40: 2^n e^r, |r| <= ln2/2, degree-7 Taylor (error < 1e-8 relative) */
static inline float exp_pos(float y)
{
    float n = __builtin_rintf(y * 1.44269504f);
    float r = (y - n * 0.693145751953125f) - n * 1.428606765330187e-06f;  /* Cody-Waite ln 2 */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f + r * (8.3333338e-3f
              + r * (1.3888889e-3f + r * 1.9841270e-4f))))));
    union { int32_t i; float f; } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}

/* tanh within ~1.2 ulp, branch-free so the loops calling it vectorise (libm's tanhf does not,
 * and ~8,000 calls a step would cost more than the rest of the step) */
static inline float tanh_f(float a)
{
    float x = fabsf(a), x2 = x * x;
    /* |a| < 0.625: tanh(x)/x as a degree-6 polynomial in x^2 (least-squares minimax fit) */
    float q = -0.33333325f + x2 * (0.13333096f + x2 * (-0.053936258f + x2 * (0.021653162f
              + x2 * (-0.0080755269f + x2 * 0.0020597423f))));
    float small = x + x * (x2 * q);
    /* otherwise 1 - 2 / (e^2x + 1): no cancellation worse than 2x once tanh >= 0.55 */
    float x2c = x < 20.0f ? 2.0f * x : 40.0f;
    float big = 1.0f - 2.0f / (exp_pos(x2c) + 1.0f);
    return copysignf(x >= 0.625f ? big : small, a);  /* NaN takes `small`: it stays NaN, as in torch */
}

static void activate(float *restrict v, float *restrict d, int n, const opts_t *o)
{
    const int kind = o->act;
    if (kind == ACT_SCALED_TANH) {
        const float A = o->tanh_a, S = o->tanh_s, AS = o->tanh_as;
        for (int i = 0; i < n; i++) {
            float t = tanh_f(S * v[i]);
            v[i] = A * t;
            d[i] = AS * (1.0f - t * t);
        }
    } else if (kind == ACT_TANH) {
        for (int i = 0; i < n; i++) {
            float t = tanh_f(v[i]);
            v[i] = t;
            d[i] = 1.0f - t * t;
        }
    } else if (kind == ACT_RELU) {
        for (int i = 0; i < n; i++) {
            d[i] = v[i] <= 0.0f ? 0.0f : 1.0f;  /* written so a NaN passes, as torch.relu and its grad */
            v[i] = v[i] <= 0.0f ? 0.0f : v[i];
        }
    } else {
        for (int i = 0; i < n; i++) d[i] = 1.0f;
    }
}

/* ---- 5x5 valid convolutions (C1, C3, C5), input maps of side si, wide outputs ------------- */
/* kid[o*n_in + i]: the index of the kernel output map o applies to input map i in w (C3's
 * Table I keeps only its 60 connected kernels, packed in (o, i) order), -1 when o does not read
 * i; NULL: dense, kernel o*n_in + i */

static void conv_fwd(const float *restrict x, int n_in, int si, const float *restrict w,
                     const float *restrict b, int n_out, const int16_t *kid, float *restrict a)
{
    const int so = si - 4, L = (so - 1) * si + so;  /* wide extent of the valid outputs */
    for (int o = 0; o < n_out; o++) {
        float *restrict ao = a + o * so * si;
        for (int p = 0; p < L; p++) ao[p] = b[o];
        for (int i = 0; i < n_in; i++) {
            const int kk = kid ? kid[o * n_in + i] : o * n_in + i;
            if (kk < 0) continue;
            const float *wk = w + kk * 25;
            for (int ki = 0; ki < 5; ki++) {
                const float *restrict xs = x + i * si * si + ki * si;
                const float w0 = wk[ki * 5], w1 = wk[ki * 5 + 1], w2 = wk[ki * 5 + 2],
                            w3 = wk[ki * 5 + 3], w4 = wk[ki * 5 + 4];
                for (int p = 0; p < L; p++)
                    ao[p] += w0 * xs[p] + w1 * xs[p + 1] + w2 * xs[p + 2] + w3 * xs[p + 3] + w4 * xs[p + 4];
            }
        }
    }
}

/* dE/dx[i] (compact si x si, overwritten) = sum_o w[o][i] (full conv) g[o]; g: map o's wide
 * gradient at g + o*gs, zero in its wasted columns and for GPAD(si) floats before and
 * si*si - L after, so every tap can be a plain shifted read (a gather, no scatter) */
static void conv_bwd_input(const float *restrict g, int gs, int n_out, int si, const float *restrict w,
                           const int16_t *kid, int n_in, float *restrict dx)
{
    for (int i = 0; i < n_in; i++) {
        float *restrict di = dx + i * si * si;
        for (int q = 0; q < si * si; q++) di[q] = 0.0f;
        for (int o = 0; o < n_out; o++) {
            const int kk = kid ? kid[o * n_in + i] : o * n_in + i;
            if (kk < 0) continue;
            const float *wk = w + kk * 25;
            for (int ki = 0; ki < 5; ki++) {
                const float *restrict gk = g + o * gs - ki * si - 4;  /* gk[q + 4 - kj]: tap kj */
                const float w0 = wk[ki * 5], w1 = wk[ki * 5 + 1], w2 = wk[ki * 5 + 2],
                            w3 = wk[ki * 5 + 3], w4 = wk[ki * 5 + 4];
                for (int q = 0; q < si * si; q++)
                    di[q] += w4 * gk[q] + w3 * gk[q + 1] + w2 * gk[q + 2] + w1 * gk[q + 3] + w0 * gk[q + 4];
            }
        }
    }
}

/* dE/dw[o][i][ki][kj] = sum_p g[o][p] x[i][p + ki*si + kj], dE/db[o] = sum_p g[o][p]; then
 * w -= eps dE/dw, b -= eps dE/db (C3's unconnected pairs have no kernel). w and b
 * are only written: the weights themselves for SDLM, gradient accumulators in batch mode */
static void conv_wgrad_update(const float *restrict g, int gs, int n_out, int si, const float *restrict x,
                              int n_in, const int16_t *kid, float *restrict w, const float *restrict rw,
                              float *restrict b, const float *restrict rb)
{
    const int so = si - 4, L = (so - 1) * si + so;
    for (int o = 0; o < n_out; o++) {
        const float *restrict go = g + o * gs;
        float sb = 0.0f;
#pragma omp simd reduction(+ : sb)
        for (int p = 0; p < L; p++) sb += go[p];
        for (int i = 0; i < n_in; i++) {
            const int kk = kid ? kid[o * n_in + i] : o * n_in + i;
            if (kk < 0) continue;
            float *wk = w + kk * 25;
            const float *rk = rw + kk * 25;
            for (int ki = 0; ki < 5; ki++) {
                const float *restrict xs = x + i * si * si + ki * si;
                float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f, s4 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4)
                for (int p = 0; p < L; p++) {
                    s0 += go[p] * xs[p];
                    s1 += go[p] * xs[p + 1];
                    s2 += go[p] * xs[p + 2];
                    s3 += go[p] * xs[p + 3];
                    s4 += go[p] * xs[p + 4];
                }
                const float s[5] = {s0, s1, s2, s3, s4};
                for (int kj = 0; kj < 5; kj++) wk[ki * 5 + kj] -= rk[ki * 5 + kj] * s[kj];
            }
        }
        b[o] -= rb[o] * sb;
    }
}

/* ---- S2/S4: 2x2 pooling of n maps, wide input (row stride si, map stride ms) -> so x so ------ */
/* subsample: s = sum of the 4 (PyTorch's order), a = s (k coef) + bias, x = f(a);
 * avg: x = s / 4; max: x = max (first of ties, as PyTorch), no parameters, no squashing */

static void pool_fwd(const float *restrict xin, int ms, int si, int n, int so, const opts_t *o,
                     const float *coef, const float *bias, float *restrict s, float *restrict x,
                     float *restrict d, unsigned char *restrict arg)
{
    for (int c = 0; c < n; c++) {
        const float kc = o->sub_k * (o->pool == POOL_SUBSAMPLE ? coef[c] : 0.0f);
        for (int y = 0; y < so; y++)
            for (int xx = 0; xx < so; xx++) {
                const float *t = xin + c * ms + 2 * y * si + 2 * xx;
                const float v[4] = {t[0], t[1], t[si], t[si + 1]};
                const int u = (c * so + y) * so + xx;
                if (o->pool == POOL_MAX) {
                    int m = 0;
                    for (int k = 1; k < 4; k++)
                        if (v[k] > v[m] || isnan(v[k])) m = k;
                    arg[u] = (unsigned char)m;
                    x[u] = v[m];
                } else {
                    const float sum = ((v[0] + v[1]) + v[2]) + v[3];
                    s[u] = sum;
                    x[u] = o->pool == POOL_AVG ? sum / 4.0f : sum * kc + bias[c];
                }
            }
    }
    if (o->pool == POOL_SUBSAMPLE) activate(x, d, n * so * so, o);
}

/* g: dE/dx at the pool's output (compact, overwritten by dE/da); writes dE/dx at its wide
 * input (g_in + c*gs, rows*si floats per map, 0 in the wasted columns), then dcoef -= rc dE/dcoef,
 * dbias -= rb dE/dbias (dcoef == coef for SDLM; gradient accumulators in batch mode) */
static void pool_bwd(float *restrict g, const float *restrict d, const float *restrict s,
                     const unsigned char *restrict arg, int n, int so, const opts_t *o, const float *coef,
                     float *dcoef, const float *rc, float *dbias, const float *rb, float *restrict g_in,
                     int gs, int si)
{
    for (int c = 0; c < n; c++) {
        float kc = 0.25f, gc = 0.0f, gb = 0.0f;
        if (o->pool == POOL_SUBSAMPLE) {
            kc = o->sub_k * coef[c];  /* the coefficient before its update */
            for (int u = c * so * so; u < (c + 1) * so * so; u++) {
                g[u] *= d[u];
                gc += g[u] * s[u];
                gb += g[u];
            }
        }
        float *gi = g_in + c * gs;
        for (int y = 0; y < 2 * so; y++) {
            float *row = gi + y * si;
            for (int xx = 0; xx < si; xx++) row[xx] = 0.0f;
            for (int xx = 0; xx < 2 * so; xx++) {
                const int u = (c * so + y / 2) * so + xx / 2;
                if (o->pool == POOL_MAX)
                    row[xx] = arg[u] == (unsigned)((y & 1) * 2 + (xx & 1)) ? g[u] : 0.0f;
                else
                    row[xx] = g[u] * kc;
            }
        }
        if (o->pool == POOL_SUBSAMPLE) {
            dcoef[c] -= rc[c] * (gc * o->sub_k);
            dbias[c] -= rb[c] * gb;
        }
    }
}

/* ---- fully connected (C5 on a 5x5 input, F6, linear F7) ----------------------------------- */

static void dense_fwd(const float *restrict x, int n_in, const float *restrict w, const float *restrict b,
                      int n_out, float *restrict a)
{
    for (int o = 0; o < n_out; o++) {
        const float *restrict wo = w + (int64_t)o * n_in;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int k = 0; k < n_in; k++) acc += wo[k] * x[k];
        a[o] = acc + b[o];
    }
}

/* ga = dE/da (n_out): gx = W^T ga with the old W, then W -= eps (ga x^T), b -= eps ga */
static void dense_bwd_update(const float *restrict ga, int n_out, const float *restrict x, int n_in,
                             float *restrict w, const float *restrict rw, float *restrict b,
                             const float *restrict rb, float *restrict gx)
{
    for (int k = 0; k < n_in; k++) gx[k] = 0.0f;
    for (int o = 0; o < n_out; o++) {
        float *restrict wo = w + (int64_t)o * n_in;
        const float *restrict ro = rw + (int64_t)o * n_in;
        const float go = ga[o];
        for (int k = 0; k < n_in; k++) {
            gx[k] += go * wo[k];
            wo[k] -= ro[k] * (go * x[k]);
        }
        b[o] -= rb[o] * go;
    }
}

/* batch mode: gx = W^T ga, dW -= r (ga x^T), db -= r ga into accumulators (W itself untouched).
 * Kept apart from dense_bwd_update rather than one function with separate read/write pointers:
 * SDLM calls it with the two equal, which `restrict` forbids, and without `restrict` gcc would
 * check for overlap at run time and fall back to scalar code in exactly the per-sample case. */
static void dense_bwd_accum(const float *restrict ga, int n_out, const float *restrict x, int n_in,
                            const float *restrict w, float *restrict dw, const float *restrict rw,
                            float *restrict db, const float *restrict rb, float *restrict gx)
{
    for (int k = 0; k < n_in; k++) gx[k] = 0.0f;
    for (int o = 0; o < n_out; o++) {
        const float *restrict wo = w + (int64_t)o * n_in;
        float *restrict dwo = dw + (int64_t)o * n_in;
        const float *restrict ro = rw + (int64_t)o * n_in;
        const float go = ga[o];
        for (int k = 0; k < n_in; k++) {
            gx[k] += go * wo[k];
            dwo[k] -= ro[k] * (go * x[k]);
        }
        db[o] -= rb[o] * go;
    }
}

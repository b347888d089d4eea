/* Output heads and losses of lenet5.c and seqnet.c (included after lenet5_ops.h, in the same
 * translation unit): the RBF F7 with MSE/MAP, the linear head with cross-entropy, the squashed head
 * with 1/2 squared error to +-1, and the predicted class. */

/* ---- output heads and losses ------------------------------------------------------------- */

/* RBF F7 (fixed centers c, 10 x 84): y_i = sum_j (x_j - c_ij)^2; mse: E = y_D;
 * map: E = y_D + log(e^-j + sum_i e^-y_i), computed around its largest term. gy = dE/dy */
static float rbf_loss(const float *restrict x, const float *restrict c, int64_t label, const opts_t *o,
                      float *restrict y, float *restrict gy)
{
    for (int i = 0; i < 10; i++) {
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int j = 0; j < 84; j++) acc += (x[j] - c[i * 84 + j]) * (x[j] - c[i * 84 + j]);
        y[i] = acc;
        gy[i] = i == label ? 1.0f : 0.0f;
    }
    if (o->loss != LOSS_MAP) return y[label];
    float m = -o->map_j;
    for (int i = 0; i < 10; i++) m = fmaxf(m, -y[i]);
    float z = expf(-o->map_j - m);
    for (int i = 0; i < 10; i++) z += expf(-y[i] - m);
    const float lse = m + logf(z);
    for (int i = 0; i < 10; i++) gy[i] -= expf(-y[i] - lse);  /* - p_i, the posterior */
    return y[label] + lse;
}

/* gx_j = sum_i gy_i 2 (x_j - c_ij) */
static void rbf_grad(const float *restrict x, const float *restrict c, const float *restrict gy,
                     float *restrict gx)
{
    for (int j = 0; j < 84; j++) gx[j] = 0.0f;
    for (int i = 0; i < 10; i++) {
        if (gy[i] == 0.0f) continue;
        const float gi = 2.0f * gy[i];
        for (int j = 0; j < 84; j++) gx[j] += gi * (x[j] - c[i * 84 + j]);
    }
}

/* softmax cross-entropy on the linear head's logits z; gz = softmax(z) - onehot(label) */
static float ce_loss(const float *restrict z, int64_t label, float *restrict gz)
{
    float m = z[0], s = 0.0f;
    for (int i = 1; i < 10; i++) m = fmaxf(m, z[i]);
    for (int i = 0; i < 10; i++) s += expf(z[i] - m);
    const float lse = m + logf(s);
    for (int i = 0; i < 10; i++) gz[i] = expf(z[i] - lse) - (i == label ? 1.0f : 0.0f);
    return lse - z[label];
}

/* squashed head (the authors' Lush net): E = 1/2 sum_i (x_i - t_i)^2, t = +1 for the class, -1
 * elsewhere; ga = dE/da = (x_i - t_i) f'(a_i), d = f'(a) */
static float edist_loss(const float *restrict x, const float *restrict d, int64_t label, float *restrict ga)
{
    float e = 0.0f;
    for (int i = 0; i < 10; i++) {
        const float r = x[i] - (i == label ? 1.0f : -1.0f);
        e += r * r;
        ga[i] = r * d[i];
    }
    return 0.5f * e;
}

/* (lenet5_curv.h, lockstep.c) d2E/dx6_j^2 of the RBF head with its loss (F7 fixed): mse 2; map adds the log-sum-exp term's
 * diagonal: 2 - 2 sum_i p_i + sum_i p_i u_ij^2 - (sum_i p_i u_ij)^2, u_ij = 2 (x_j - c_ij),
 * p_i = e^-y_i / (e^-j + sum_i e^-y_i) */
static void rbf_curv(const float *restrict x, const float *restrict c, const float *restrict y, const opts_t *o,
                     float *restrict h)
{
    if (o->loss != LOSS_MAP) {
        for (int j = 0; j < 84; j++) h[j] = 2.0f;
        return;
    }
    float m = -o->map_j, p[10], ps = 0.0f;
    for (int i = 0; i < 10; i++) m = fmaxf(m, -y[i]);
    float z = expf(-o->map_j - m);
    for (int i = 0; i < 10; i++) z += expf(-y[i] - m);
    for (int i = 0; i < 10; i++) ps += p[i] = expf(-y[i] - m) / z;
    for (int j = 0; j < 84; j++) {
        float a = 0.0f, b = 0.0f;
        for (int i = 0; i < 10; i++) {
            const float u = 2.0f * (x[j] - c[i * 84 + j]);
            a += p[i] * u;
            b += p[i] * u * u;
        }
        h[j] = 2.0f - 2.0f * ps + b - a * a;
    }
}

/* the class: argmin distance (rbf) or argmax output (linear, squashed), first of ties as torch.argmax */
static int predicted(const float *out, int head)
{
    int best = 0;
    for (int i = 1; i < 10; i++)
        if (head == HEAD_RBF ? out[i] < out[best] : out[i] > out[best]) best = i;
    return best;
}

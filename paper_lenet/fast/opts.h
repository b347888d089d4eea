/* The options of one call of lenet5_run or seqnet_run, and their enums (ACT_* is in lenet5_ops.h).
 * Mirrored field for field by paper_lenet/fast/abi.py's ctypes Structure; `abi` must equal LENET5_ABI,
 * and abi.py checks each library's opts size and names when it loads it, so a mismatch between the
 * two sides is an error, never wrong numbers. */
#ifndef PAPER_LENET_OPTS_H
#define PAPER_LENET_OPTS_H
#include <stdint.h>

#define GPAD(si) (4 * (si) + 4)  /* zeros in front of a wide gradient map, for the input gather */

enum { POOL_SUBSAMPLE, POOL_AVG, POOL_MAX };
enum { HEAD_RBF, HEAD_LINEAR, HEAD_SQUASHED };
enum { LOSS_MSE, LOSS_MAP, LOSS_CE, LOSS_EDIST };

#define LENET5_ABI 2
typedef struct {
    int32_t abi;
    int32_t act, pool, head, loss;  /* the enums above and ACT_*, as lenet5_names() spells them */
    float sub_k, map_j;             /* S2/S4 weight per coefficient unit (1 sum, 0.25 average); MAP's j */
    float tanh_a, tanh_s, tanh_as;  /* f(a) = A tanh(S a), f'(a) = AS (1 - tanh^2): the paper's A, S from Python */
} opts_t;

#endif

"""The paper's reported results, as printed beside ours (lenet5-1998.md section 6; % test error).

These are the paper's numbers, read off its text and figures; nothing of ours is typed here.
"""
from .config import PAPER_ETA

# Fig. 5: error (%) after each pass, read off the plot (+-0.03); passes 14-17 and 18-20 share a value.
FIG5_TRAIN = [4.89, 3.04, 1.77, 1.48, 1.22, 0.91, 0.78, 0.70, 0.57, 0.49, 0.47, 0.44, 0.41,
              0.39, 0.39, 0.39, 0.39, 0.36, 0.36, 0.36]
FIG5_TEST = [2.65, 2.24, 1.48, 1.43, 1.43, 1.09, 1.04, 1.07, 0.99, 0.96, 0.96, 0.99, 0.96,
             0.96, 0.96, 0.96, 0.96, 0.96, 0.96, 0.96]

# Fig. 6: training-set size -> (test %, train %).
FIG6 = {15000: (1.68, 0.05), 30000: (1.14, 0.31), 60000: (0.94, 0.35)}

# Headline rows (Fig. 9 and Sec. III), test error %, and where they come from.
PAPER_TEST_ERROR = {
    "lenet5_1998": (0.95, "LeNet-5, Fig. 9"),
    "lenet5_1998_distort": (0.8, "[dist] LeNet-5, Fig. 9"),
    "lenet5_1998_15k": (1.68, "Fig. 6, 15,000 samples"),
    "lenet5_1998_30k": (1.14, "Fig. 6, 30,000 samples"),
    "lenet5_lush": (0.82, "the authors' Lush LeNet-5 as QMNIST retrained it, +-0.2 two sigma"),
    "lenet5_1998_literal": (0.95, "LeNet-5, Fig. 9; every setting as the text states it"),
    "modern": (None, "tutorial-style LeNet-5s report about 1.0-1.3"),
}
PAPER_UNCERTAINTY = 0.1  # "uncertainty about 0.1%"

# Sec. III-B: "the effective learning rates ... vary from approximately 7e-5 to 0.016" in the first pass.
FIRST_PASS_EPS = (7e-5, 0.016)
FIRST_PASS_ETA = PAPER_ETA[0][1]  # the schedule's rate for passes 1-2, which those eps_k were taken with

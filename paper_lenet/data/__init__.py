"""MNIST for the LeNet-5 reproduction: IDX files (idx.py), a verified download chain (download.py),
the tensors a config's model takes (mnist.py), Fig. 9's preprocessings (preprocess.py, deslant.py,
deskew.py, resample.py), the paper's affine distortions (distort.py), a user's own digit image as MNIST
made its digits (image.py), and the robustness study's test sets (mnist_c.py, mnist_c_ops.py,
rubbish.py, testsets.py). It imports neither the config nor the pictures: callers pass a config's
`data:` section, and tools/pictures.py draws.
"""

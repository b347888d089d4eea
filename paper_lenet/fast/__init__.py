"""The fast path: a C implementation of one LeNet-5 forward/backward, compiled on first use.

FastStepper runs per-sample SDLM steps; FastBatchGrad gives minibatch gradients for torch's
optimizers. Importing this package compiles nothing; their constructors do (once per machine and
input size, cached). steppers.make_stepper / make_batch_grad fall back to autograd when
fast_supported() gives a reason or the build raises RuntimeError (e.g. no C compiler).
"""

from .stepper import FastBatchGrad, FastStepper, fast_supported

__all__ = ["FastBatchGrad", "FastStepper", "fast_supported"]

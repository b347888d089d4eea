"""The fast per-sample SDLM path: a C implementation of one LeNet-5 step, compiled on first use.

Importing this package compiles nothing; FastStepper's constructor does (once per machine and
input size, cached). steppers.make_stepper falls back to the reference loop when
fast_supported() gives a reason or the build raises RuntimeError (e.g. no C compiler).
"""
from .stepper import FastStepper, fast_supported

__all__ = ["FastStepper", "fast_supported"]

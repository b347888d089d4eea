"""Sec. III-C's comparison beyond the networks (Figs. 9-12): the fitted methods, boosting, and what
they share. Each method module declares its methods next to their code with `registry.fitted` (its
config section, cost, Fig. 9 row and the paper's section); importing this package imports them, so
they are registered (`paper_lenet.core.registry.methods()` lists them; docs/architecture.md says where
each lives). Above LeNet-5's core, which never imports it.

    base.py   FittedModel (registry.Fitted's defaults) and the seeded training-error subset
    cost.py   what the methods' Figs. 11-12 costs share
    fit.py    a fitted method's run;  boost.py: [dist] Boosted LeNet-4 (three trained LeNet-4s)
"""

from __future__ import annotations

from . import knn, least_squares, local, reduced, svm, tangent  # noqa: F401  (each registers its methods)

"""Observation models p(x | z) of the VAE's decoder: the likelihood layer.

Each is a :class:`torch.nn.Module` subclass of :class:`Likelihood`. Pass one
(or its name) as ``VAETransformer(likelihood=...)``; subclass
:class:`Likelihood` to add your own. :class:`ColumnLikelihoods` gives each
block of columns its own.
"""

import copy

from skvae.likelihoods._base import ColumnBlock, Likelihood
from skvae.likelihoods._bernoulli import Bernoulli
from skvae.likelihoods._categorical import Categorical, one_hot_or_zero
from skvae.likelihoods._columns import ColumnLikelihoods
from skvae.likelihoods._continuous_bernoulli import ContinuousBernoulli
from skvae.likelihoods._counts import NegativeBinomial, Poisson
from skvae.likelihoods._gaussian import Gaussian
from skvae.likelihoods._student_t import StudentT

#: The names ``VAETransformer(likelihood=...)`` accepts, and their classes.
LIKELIHOODS = {
    "gaussian": Gaussian,
    "bernoulli": Bernoulli,
    "continuous_bernoulli": ContinuousBernoulli,
    "poisson": Poisson,
    "negative_binomial": NegativeBinomial,
    "student_t": StudentT,
    "categorical": Categorical,
}


#: The registered likelihoods with a variance floor and ``near_constant_ratio``.
FLOORED = ("gaussian", "student_t")


def make_likelihood(spec, near_constant_ratio=None):
    """A fresh likelihood for a name in ``LIKELIHOODS`` or a copy of an instance.

    ``near_constant_ratio`` (when not None) goes to a likelihood named in
    ``FLOORED``; an instance keeps its own.
    """
    if isinstance(spec, Likelihood):
        return copy.deepcopy(spec)
    if near_constant_ratio is not None and spec in FLOORED:
        return LIKELIHOODS[spec](near_constant_ratio=near_constant_ratio)
    return LIKELIHOODS[spec]()


__all__ = [
    "Bernoulli",
    "Categorical",
    "ColumnBlock",
    "ColumnLikelihoods",
    "ContinuousBernoulli",
    "Gaussian",
    "LIKELIHOODS",
    "Likelihood",
    "NegativeBinomial",
    "Poisson",
    "StudentT",
    "make_likelihood",
    "one_hot_or_zero",
]

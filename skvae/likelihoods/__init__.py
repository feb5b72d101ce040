"""Observation models p(x | z) of the VAE's decoder: the likelihood layer.

Each is a :class:`torch.nn.Module` subclass of :class:`Likelihood`. Pass one
(or its name) as ``VAETransformer(likelihood=...)``; subclass
:class:`Likelihood` to add your own.
"""

import copy

from skvae.likelihoods._base import Likelihood
from skvae.likelihoods._bernoulli import Bernoulli
from skvae.likelihoods._gaussian import Gaussian

#: The names ``VAETransformer(likelihood=...)`` accepts, and their classes.
LIKELIHOODS = {"gaussian": Gaussian, "bernoulli": Bernoulli}


def make_likelihood(spec):
    """A fresh likelihood for a name in ``LIKELIHOODS`` or a copy of an instance."""
    if isinstance(spec, Likelihood):
        return copy.deepcopy(spec)
    return LIKELIHOODS[spec]()


__all__ = ["Bernoulli", "Gaussian", "LIKELIHOODS", "Likelihood", "make_likelihood"]

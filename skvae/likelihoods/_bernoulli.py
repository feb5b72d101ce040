"""Bernoulli observation model (Kingma & Welling 2013, appendix C.1). Torch only."""

import torch
from torch.distributions import constraints
from torch.nn import functional as F

from skvae.likelihoods._base import Likelihood


class Bernoulli(Likelihood):
    """Bernoulli p(x | z), the decoder giving the logits (AEVB appendix C.1).

    ``log p(x|z) = sum_i x_i log y_i + (1 - x_i) log(1 - y_i)``, ``y =
    sigmoid(logits)``, computed from the logits (binary cross-entropy with
    logits), which never overflows. x must lie in [0, 1]; values strictly
    between 0 and 1 are accepted (grey levels, as in the paper's experiments),
    where it is a cross-entropy rather than a density.
    """

    support = constraints.unit_interval

    def initialize(self, x_mean, x_var):
        """The decoder's output starts at the logit of each feature's mean."""
        p = x_mean.clamp(1e-4, 1 - 1e-4)
        return torch.log(p) - torch.log1p(-p), torch.ones_like(x_mean)

    def feature_log_prob(self, x, decoder_out):
        return -F.binary_cross_entropy_with_logits(decoder_out, x, reduction="none")

    def mean(self, decoder_out):
        """E[x | z] = sigmoid(logits): probabilities."""
        return torch.sigmoid(decoder_out)

    def sample(self, decoder_out, generator=None):
        """0/1 draws."""
        return torch.bernoulli(torch.sigmoid(decoder_out), generator=generator)

    def data_warning(self, x):
        """A message when x holds grey levels (values strictly inside (0, 1)).

        There, ``x log y + (1 - x) log(1 - y)`` is a cross-entropy, not the
        log of a density: it does not integrate to 1 over [0, 1] (Loaiza-Ganem
        & Cunningham 2019, introduction), so the scores are not log-likelihoods.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)
            Training values (missing entries are NaN, and ignored).

        Returns
        -------
        str or None
            The warning, when there are grey levels.
        """
        grey = (x > 0) & (x < 1)
        n_grey = int(grey.sum())
        if not n_grey:
            return None
        example = float(x[grey][0])
        return (
            f"X holds {n_grey} values strictly between 0 and 1 (e.g. {example:.4g}). "
            "There the Bernoulli likelihood's 'log-likelihood' is a cross-entropy, "
            "not a density, so its scores (score, score_samples) are not "
            "log-likelihoods and cannot be compared with other models'. Use "
            "likelihood='continuous_bernoulli' (a density on [0, 1]), binarize X "
            "(e.g. sklearn.preprocessing.Binarizer), or likelihood='gaussian'."
        )

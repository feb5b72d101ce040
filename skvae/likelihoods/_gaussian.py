"""Gaussian observation model (Kingma & Welling 2013, appendix C.2). Torch only."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from skvae.likelihoods._base import Likelihood

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(x, loc, logvar):
    """log N(x; loc, exp(logvar)) of each element, in nats (AEVB appendix C.2).

    ``-1/2 [log(2 pi) + log sigma^2 + (x - mu)^2 / sigma^2]``.
    """
    return -0.5 * (LOG_2PI + logvar + (x - loc).pow(2) * torch.exp(-logvar))


class Gaussian(Likelihood):
    """Gaussian p(x | z) = N(x; decoder_out, diag(sigma^2)), sigma learned per feature.

    Kingma & Welling (2013), appendix C.2, with a homoscedastic variance: the
    decoder gives the mean; each feature has one learned variance (as
    ``FactorAnalysis.noise_variance_``), started at the feature's training
    variance ``var_j`` and bounded below, so that the likelihood stays bounded
    (a variance collapsing to 0 would make it infinite)::

        floor_j = min_variance_ratio * max(var_j, mean_k var_k)
        log sigma_j^2 = log(floor_j) + softplus(raw_j)

    The floor is relative to the mean variance of the features as well as to
    the feature's own, so a feature that is (nearly) constant in the training
    rows cannot make a held-out row cost thousands of nats. Features of very
    different scales should be standardized first (``StandardScaler``): a
    feature whose variance is a small fraction of the mean cannot be modelled
    below ``min_variance_ratio`` times the mean.

    Parameters
    ----------
    min_variance_ratio : float, default=1e-3
        The floor, as a fraction of ``max(var_j, mean variance)``.
    """

    location_family = True

    def __init__(self, min_variance_ratio=1e-3):
        super().__init__()
        self.min_variance_ratio = min_variance_ratio

    def initialize(self, x_mean, x_var):
        """Variances start at ``x_var`` (at least twice their floor).

        The decoder's output starts at (mean, standard deviation).
        """
        var = x_var.to(torch.float32)
        floor = self.min_variance_ratio * torch.maximum(var, var.mean())
        start = torch.maximum(var, 2 * floor)
        self.register_buffer("x_logvar_floor", torch.log(floor))
        # softplus(raw) = log(start / floor)  <=>  x_logvar starts at log(start)
        self.x_logvar_raw = nn.Parameter(_softplus_inverse(torch.log(start / floor)))
        return x_mean, x_var.sqrt()

    def x_logvar(self):
        """Per-feature log-variance, tensor of shape (n_features,), above its floor."""
        return self.x_logvar_floor + F.softplus(self.x_logvar_raw)

    def feature_log_prob(self, x, decoder_out):
        return gaussian_log_prob(x, decoder_out, self.x_logvar())

    def mean(self, decoder_out):
        """E[x | z]: the decoder's output itself."""
        return decoder_out

    def sample(self, decoder_out, generator=None):
        noise = torch.randn(
            decoder_out.shape,
            generator=generator,
            dtype=decoder_out.dtype,
            device=decoder_out.device,
        )
        return decoder_out + torch.exp(0.5 * self.x_logvar()) * noise

    def extra_repr(self):
        return f"min_variance_ratio={self.min_variance_ratio}"


def _softplus_inverse(y):
    """x with softplus(x) = y, for y > 0 (stable for large y)."""
    return y + torch.log(-torch.expm1(-y))

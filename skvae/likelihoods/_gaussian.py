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
    variance and bounded below by ``min_variance_ratio`` times it, so that the
    likelihood stays bounded (a variance collapsing to 0 would make it
    infinite): ``log sigma^2 = log(ratio * var) + softplus(raw)``.

    Parameters
    ----------
    min_variance_ratio : float, default=1e-3
        Floor of each variance, as a fraction of its starting value.
    """

    def __init__(self, min_variance_ratio=1e-3):
        super().__init__()
        self.min_variance_ratio = min_variance_ratio

    def initialize(self, x_mean, x_var):
        """Variances start at ``x_var``; the decoder's output at (mean, std)."""
        ratio = self.min_variance_ratio
        floor = torch.log(ratio * x_var.to(torch.float32))
        self.register_buffer("x_logvar_floor", floor)
        # softplus(raw) = log(1 / ratio)  <=>  x_logvar starts at log(x_var)
        start = math.log(math.expm1(-math.log(ratio)))
        self.x_logvar_raw = nn.Parameter(torch.full_like(floor, start))
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

"""Gaussian observation model (Kingma & Welling 2013, appendix C.2). Torch only."""

import math
import numbers

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


def init_floored_logvar(module, start_var, ratio, near_constant_ratio=None):
    """Give ``module`` a learned per-feature log sigma^2, bounded below.

    Registers the buffer ``x_logvar_floor = log(floor)`` and the parameter
    ``x_logvar_raw``, with ``log sigma^2 = x_logvar_floor + softplus(raw)``
    (read it with :func:`floored_logvar`)::

        typical = median_k start_k,  c = max(near_constant_ratio, ratio)
        floor_j = ratio * start_j           if start_j > c * typical
                  c * typical               otherwise (a near-constant feature)

    starting at ``max(start_j, 2 floor_j)``. A feature of its own scale may
    shrink to ``ratio`` of its variance; a feature (nearly) constant in the
    training rows borrows the typical scale of the others, so that a held-out
    row that moves it costs tens of nats, not thousands. The median, not the
    mean, makes "typical" robust to a few columns in large units (a weight
    in pounds beside a count). Shared by :class:`Gaussian` (sigma^2 its
    variance, started at the data's) and :class:`~skvae.likelihoods.StudentT`
    (sigma its scale).

    Parameters
    ----------
    module : torch.nn.Module
    start_var : torch.Tensor of shape (n_features,), positive
        Starting sigma^2 of each feature.
    ratio : float in (0, 1)
        The floor, as a fraction of the feature's own start.
    near_constant_ratio : float in (0, 1) or None, default=None
        A feature whose start is at most this fraction of the typical one is
        near-constant; its floor is this fraction of the typical start.
        None (or less than ``ratio``): ``ratio``.
    """
    start = start_var.to(torch.float32)
    # A threshold below ``ratio`` would floor a constant feature lower than
    # the default rule does: never below it.
    near_constant_ratio = max(near_constant_ratio or ratio, ratio)
    # quantile, not median: torch's median of an even count is the lower
    # middle value, numpy's (data_statistics' clamp) the midpoint.
    threshold = near_constant_ratio * torch.quantile(start, 0.5)
    floor = torch.where(
        start > threshold * (1 + 1e-4), ratio * start, threshold.expand_as(start)
    )
    start = torch.maximum(start, 2 * floor)
    module.register_buffer("x_logvar_floor", torch.log(floor))
    # softplus(raw) = log(start / floor)  <=>  log sigma^2 starts at log(start)
    module.x_logvar_raw = nn.Parameter(_softplus_inverse(torch.log(start / floor)))


def floored_logvar(module):
    """log sigma^2 of a module set up by :func:`init_floored_logvar`."""
    return module.x_logvar_floor + F.softplus(module.x_logvar_raw)


class Gaussian(Likelihood):
    """Gaussian p(x | z) = N(x; decoder_out, diag(sigma^2)), sigma learned per feature.

    Kingma & Welling (2013), appendix C.2, with a homoscedastic variance: the
    decoder gives the mean; each feature has one learned variance (as
    ``FactorAnalysis.noise_variance_``), started at the feature's training
    variance ``var_j`` and bounded below, so that the likelihood stays bounded
    (a variance collapsing to 0 would make it infinite): ``log sigma_j^2 =
    log(floor_j) + softplus(raw_j)`` with ``floor_j = min_variance_ratio *
    var_j``, except for a feature that is (nearly) constant in the training
    rows (``var_j`` at most ``near_constant_ratio`` times the median
    variance), whose floor is ``near_constant_ratio`` times that median, so
    that a held-out row that moves it cannot cost thousands of nats (see
    ``init_floored_logvar``).

    Parameters
    ----------
    min_variance_ratio : float, default=1e-3
        The floor, as a fraction of the feature's variance.
    near_constant_ratio : float or None, default=None
        A feature whose variance is at most this fraction of the median
        variance (over the features this likelihood models) is
        near-constant, and floored at this fraction of that median. None (or
        less than ``min_variance_ratio``): ``min_variance_ratio``. ValueError
        unless None or in (0, 1).
    """

    location_family = True
    near_constant_ratio = None  # (instances pickled before it existed lack it)

    def __init__(self, min_variance_ratio=1e-3, near_constant_ratio=None):
        super().__init__()
        self.min_variance_ratio = min_variance_ratio
        self.near_constant_ratio = check_near_constant_ratio(near_constant_ratio)

    def initialize(self, x_mean, x_var):
        """Variances start at ``x_var`` (at least twice their floor).

        The decoder's output starts at (mean, standard deviation).
        """
        init_floored_logvar(
            self, x_var, self.min_variance_ratio, self.near_constant_ratio
        )
        return x_mean, x_var.sqrt()

    def start_variance(self, var):
        """Restart the variances at ``var`` (each kept above its floor).

        For an initialization that knows better than the data's variance,
        e.g. factor analysis's noise variances.

        Parameters
        ----------
        var : torch.Tensor of shape (n_features,)
            Variances in data units.
        """
        var = torch.as_tensor(var, dtype=self.x_logvar_floor.dtype)
        floor = self.x_logvar_floor.exp()
        gap = torch.log(torch.maximum(var, floor * 1.001) / floor)
        with torch.no_grad():
            self.x_logvar_raw.copy_(_softplus_inverse(gap))

    def x_logvar(self):
        """Per-feature log-variance, tensor of shape (n_features,), above its floor."""
        return floored_logvar(self)

    def feature_log_prob(self, x, decoder_out):
        return gaussian_log_prob(x, decoder_out, self.x_logvar())

    def mean(self, decoder_out):
        """E[x | z]: the decoder's output itself."""
        return decoder_out

    def observation_precision(self):
        """1 / sigma^2 of each feature: the decoder gives the mean."""
        return torch.exp(-self.x_logvar())

    def sample(self, decoder_out, generator=None):
        noise = torch.randn(
            decoder_out.shape,
            generator=generator,
            dtype=decoder_out.dtype,
            device=decoder_out.device,
        )
        return decoder_out + torch.exp(0.5 * self.x_logvar()) * noise

    def extra_repr(self):
        return _floor_repr(self)


def _softplus_inverse(y):
    """x with softplus(x) = y, for y > 0 (stable for large y)."""
    return y + torch.log(-torch.expm1(-y))


def check_near_constant_ratio(value):
    """``value`` as a float, or None; ValueError unless None or in (0, 1)."""
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if 0 < value < 1:
            return float(value)
    raise ValueError(
        f"near_constant_ratio must be None or a float in (0, 1), got {value!r}."
    )


def _floor_repr(likelihood):
    """``min_variance_ratio=...`` (and ``near_constant_ratio=...`` when set)."""
    out = f"min_variance_ratio={likelihood.min_variance_ratio}"
    if likelihood.near_constant_ratio is not None:
        out += f", near_constant_ratio={likelihood.near_constant_ratio}"
    return out

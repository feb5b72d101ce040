"""Continuous Bernoulli observation model (Loaiza-Ganem & Cunningham 2019)."""

import torch
from torch.distributions import constraints

from skvae.likelihoods._base import Likelihood
from skvae.likelihoods._special import uniform

#: Within this distance of eta = 0, Taylor series replace the closed forms,
#: whose two terms there are large and nearly cancel.
TAYLOR_RADIUS = 0.1

#: :meth:`ContinuousBernoulli.initialize` clips the data's means into
#: [MEAN_CLIP, 1 - MEAN_CLIP] (|eta| up to about 1 / MEAN_CLIP).
MEAN_CLIP = 1e-3


def _split(eta, radius):
    """Where |eta| < radius, and eta with those entries replaced by ``radius``.

    The closed forms are evaluated at the replaced values, so neither they nor
    their gradients are 0/0 where the Taylor branch is taken.
    """
    near_zero = eta.abs() < radius
    return near_zero, torch.where(near_zero, torch.full_like(eta, radius), eta)


def cb_log_normalizer(eta):
    """A(eta) = log int_0^1 exp(eta x) dx = log((e^eta - 1) / eta), elementwise.

    Loaiza-Ganem & Cunningham (2019), section 3 (in their notation, with
    lambda = sigmoid(eta): ``log C(lambda) = softplus(eta) - A(eta)``).
    Computed as ``max(eta, 0) + log(-expm1(-|eta|)) - log|eta|``, which
    neither overflows nor loses digits for large ``|eta|``; for ``|eta| < 0.1`` by the
    Taylor series ``eta/2 + log(sinh(eta/2) / (eta/2)) = eta/2 + eta^2/24 -
    eta^4/2880 + eta^6/181440 - eta^8/9676800`` (truncation below 1e-17), as
    ``torch.distributions.ContinuousBernoulli`` does near lambda = 1/2.
    """
    near_zero, safe = _split(eta, TAYLOR_RADIUS)
    closed = (
        safe.clamp(min=0) + torch.log(-torch.expm1(-safe.abs())) - torch.log(safe.abs())
    )
    eta2 = eta * eta
    taylor = eta / 2 + eta2 * (
        1 / 24 - eta2 * (1 / 2880 - eta2 * (1 / 181440 - eta2 / 9676800))
    )
    return torch.where(near_zero, taylor, closed)


def cb_mean(eta):
    """E[x] = A'(eta) = 1 / (1 - e^-eta) - 1 / eta, elementwise.

    Loaiza-Ganem & Cunningham (2019), section 3 (the mean, in lambda:
    ``lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda))``). Both terms
    have the sign that avoids cancellation except near 0, where the Taylor
    series ``1/2 + eta/12 - eta^3/720 + eta^5/30240 - eta^7/1209600`` is used
    (truncation below 1e-17).
    """
    near_zero, safe = _split(eta, TAYLOR_RADIUS)
    closed = -torch.expm1(-safe).reciprocal() - safe.reciprocal()
    eta2 = eta * eta
    taylor = 0.5 + eta * (
        1 / 12 - eta2 * (1 / 720 - eta2 * (1 / 30240 - eta2 / 1209600))
    )
    return torch.where(near_zero, taylor, closed)


def cb_icdf(eta, u):
    """The quantile function: x with F(x | eta) = u, elementwise.

    The CDF is ``F(x) = (e^(eta x) - 1) / (e^eta - 1)`` (Loaiza-Ganem &
    Cunningham 2019, section 3), so ``x = log1p(u expm1(eta)) / eta``; that
    form is used at ``-|eta|`` (no overflow), with ``x(eta, u) = 1 - x(-eta,
    1 - u)`` for eta > 0 (the density's mirror symmetry), and its first-order
    expansion ``u + eta u (1 - u) / 2`` for |eta| < 1e-4.
    """
    v = torch.where(eta > 0, 1 - u, u)
    near_zero, safe = _split(eta.abs(), 1e-4)
    x = torch.log1p(v * torch.expm1(-safe)) / -safe
    x = torch.where(near_zero, v - eta.abs() * v * (1 - v) / 2, x)
    return torch.where(eta > 0, 1 - x, x).clamp(0, 1)


class ContinuousBernoulli(Likelihood):
    """Continuous Bernoulli p(x | z) on [0, 1], the decoder giving the logits.

    Loaiza-Ganem & Cunningham (2019): the Bernoulli likelihood applied to grey
    levels in [0, 1] is not a density (it does not integrate to 1 over
    [0, 1]); normalizing it gives the continuous Bernoulli,
    ``p(x | lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x)``, lambda =
    sigmoid(eta), an exponential family in the decoder's output eta:

    ``log p(x | eta) = eta x - A(eta)``,  ``A(eta) = log((e^eta - 1) / eta)``

    (section 3 of the paper; ``A`` is computed in eta, stably at every
    magnitude and by its Taylor series near 0, see :func:`cb_log_normalizer`).
    Its log-likelihoods are in nats and comparable with a Gaussian's.

    Unlike the Bernoulli, E[x | z] is not sigmoid(eta) but
    ``1 / (1 - e^-eta) - 1 / eta`` (:meth:`mean`), closer to 1/2. Draws use
    the inverse CDF. Note that, as for a Gaussian whose variance shrinks, the
    density is unbounded as ``|eta|`` grows (at x = 0, ``-A(eta) ~ log|eta|``), so
    a pixel that is always 0 rewards ever larger logits, slowly.

    References
    ----------
    Loaiza-Ganem, G. and Cunningham, J. P. (2019). The continuous Bernoulli:
    fixing a pervasive error in variational autoencoders. NeurIPS 2019,
    arXiv:1907.06845.

    Examples
    --------
    >>> import torch
    >>> from skvae.likelihoods import ContinuousBernoulli
    >>> cb = ContinuousBernoulli()
    >>> out_loc, out_scale = cb.initialize(torch.tensor([0.5, 0.2]), torch.ones(2))
    >>> cb.mean(out_loc)  # the data's means
    tensor([0.5000, 0.2000])
    """

    support = constraints.unit_interval

    def initialize(self, x_mean, x_var):
        """The decoder's output starts where E[x] is each feature's mean.

        It solves ``cb_mean(eta) = x_mean`` per feature (bisection in float64,
        the mean being increasing in eta), with x_mean clipped into [1e-3,
        1 - 1e-3], so ``|eta| <= 1000`` about. For an exponential family that
        eta is the maximum-likelihood fit of a decoder that ignores z (the
        place a Gaussian starts from with the data's mean and variance);
        ``logit(x_mean)``, the Bernoulli's start, would give means pulled
        towards 1/2 (a feature of mean 0.1 would start at mean 0.330,
        ``cb_mean(logit(0.1))``).
        ``out_scale`` is 1 (logit units), as for the Bernoulli.
        """
        target = x_mean.to(torch.float64).clamp(MEAN_CLIP, 1 - MEAN_CLIP)
        bound = 1 / MEAN_CLIP + 1  # cb_mean(-bound) < MEAN_CLIP
        low = torch.full_like(target, -bound)
        high = torch.full_like(target, bound)
        for _ in range(80):  # 2002 / 2^80: float64 precision
            mid = (low + high) / 2
            above = cb_mean(mid) > target
            high = torch.where(above, mid, high)
            low = torch.where(above, low, mid)
        eta = ((low + high) / 2).to(x_mean.dtype)
        return eta, torch.ones_like(eta)

    def feature_log_prob(self, x, decoder_out):
        """``eta x - A(eta)`` of each feature, shape (..., n_features), nats."""
        return decoder_out * x - cb_log_normalizer(decoder_out)

    def mean(self, decoder_out):
        """E[x | z] = 1 / (1 - e^-eta) - 1 / eta, shape (..., n_features)."""
        return cb_mean(decoder_out)

    def sample(self, decoder_out, generator=None):
        """Draws in [0, 1] by the inverse CDF, shape (..., n_features)."""
        return cb_icdf(decoder_out, uniform(decoder_out, generator))

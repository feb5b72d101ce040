"""Numerics the likelihoods share: a stable log-gamma ratio and seeded draws.

Torch only. Every draw takes the caller's ``torch.Generator`` and follows the
dtype and device of the tensor it is shaped like, so that sampling is
reproducible and works in float32 and float64, on CPU and GPU.
"""

import torch

#: Below this ``b``, :func:`log_gamma_ratio` subtracts two ``lgamma`` values.
STIRLING_FROM = 10.0


def _stirling_tail(x):
    """``1/(12x) - 1/(360x^3) + 1/(1260x^5)``: Stirling's series after its
    leading terms (Abramowitz & Stegun 1964, eq. 6.1.41)."""
    inv = x.reciprocal()
    inv2 = inv * inv
    return inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 / 1260.0))


def log_gamma_ratio(a, b):
    """``log Gamma(b + a) - log Gamma(b)``, elementwise, accurate for large b.

    Both ``lgamma`` values grow like ``b log b``, so their difference loses
    all digits when b is large (in float32, ``lgamma(1e6)`` is about 1.3e7
    and carries an error near 1): the negative binomial's inverse dispersion
    and the Student-t's degrees of freedom reach such values. For
    ``b >= 10`` it uses Stirling's series (Abramowitz & Stegun 1964, eq.
    6.1.41) for the difference itself::

        (b - 1/2) log1p(a / b) + a log(a + b) - a + s(a + b) - s(b),

    ``s(x) = 1/(12x) - 1/(360x^3) + 1/(1260x^5)`` (truncation error below
    1/(1680 x^7), 6e-11 at x = 10); below, ``lgamma(b + a) - lgamma(b)``.

    Parameters
    ----------
    a : torch.Tensor, nonnegative
    b : torch.Tensor, positive
        Broadcast against each other.

    Returns
    -------
    torch.Tensor
        Of the broadcast shape, in nats; differentiable in a and b.
    """
    large = b >= STIRLING_FROM
    b_large = torch.where(large, b, torch.full_like(b, STIRLING_FROM))
    stirling = (
        (b_large - 0.5) * torch.log1p(a / b_large)
        + a * torch.log(a + b_large)
        - a
        + _stirling_tail(a + b_large)
        - _stirling_tail(b_large)
    )
    return torch.where(large, stirling, torch.lgamma(b + a) - torch.lgamma(b))


def uniform(like, generator=None):
    """U[0, 1) draws of ``like``'s shape, dtype and device."""
    return torch.rand(
        like.shape, generator=generator, dtype=like.dtype, device=like.device
    )


def standard_normal(like, generator=None):
    """N(0, 1) draws of ``like``'s shape, dtype and device."""
    return torch.randn(
        like.shape, generator=generator, dtype=like.dtype, device=like.device
    )


def standard_gamma(concentration, generator=None):
    """Gamma(concentration, rate 1) draws, one per element, from ``generator``.

    ``torch._standard_gamma`` (what ``torch.distributions.Gamma`` samples
    with) is the one torch sampler of the gamma distribution that takes a
    generator; draws are kept above the dtype's smallest normal number, as
    ``Gamma.rsample`` does, so that a later division stays finite.
    """
    draws = torch._standard_gamma(concentration, generator=generator)
    return draws.clamp(min=torch.finfo(draws.dtype).tiny)

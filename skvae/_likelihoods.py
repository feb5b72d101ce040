"""Decoder likelihood heads and the ELBO's closed-form pieces (torch only).

Formulas follow Kingma & Welling, *Auto-Encoding Variational Bayes* (2013,
arXiv:1312.6114): the Gaussian KL of appendix B, the Bernoulli decoder of
appendix C.1 and the Gaussian decoder of appendix C.2. Every function returns
one value per row, in nats, summed over the last (feature or latent) axis.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_kl_per_dim(z_loc, z_logvar):
    """KL(N(z_loc, exp(z_logvar)) || N(0, 1)) of each latent dimension, in nats.

    Kingma & Welling (2013), appendix B:
    ``-1/2 (1 + log sigma^2 - mu^2 - sigma^2)``, elementwise.
    """
    return -0.5 * (1.0 + z_logvar - z_loc.pow(2) - z_logvar.exp())


def gaussian_kl(z_loc, z_logvar):
    """KL(q(z|x) || p(z)) of each row, summed over the latent dimensions (nats)."""
    return gaussian_kl_per_dim(z_loc, z_logvar).sum(dim=-1)


def gaussian_log_prob(x, x_loc, x_logvar):
    """log N(x; x_loc, diag(exp(x_logvar))) of each row (nats).

    Kingma & Welling (2013), appendix C.2:
    ``-1/2 sum_i [log(2 pi) + log sigma_i^2 + (x_i - mu_i)^2 / sigma_i^2]``.
    """
    return -0.5 * (LOG_2PI + x_logvar + (x - x_loc).pow(2) * torch.exp(-x_logvar)).sum(
        dim=-1
    )


def bernoulli_log_prob(x, x_logits):
    """log Bernoulli(x; sigmoid(x_logits)) of each row (nats).

    Kingma & Welling (2013), appendix C.1:
    ``sum_i x_i log y_i + (1 - x_i) log(1 - y_i)`` with ``y = sigmoid(logits)``,
    computed from the logits (binary cross-entropy with logits), which never
    overflows. Values of ``x`` strictly between 0 and 1 are allowed (as for
    grey-level images in the paper's experiments).
    """
    return -F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").sum(
        dim=-1
    )


class GaussianHead(nn.Module):
    """Gaussian observation model p(x|z) = N(x_loc(z), diag(sigma^2)).

    AEVB appendix C.2, with a homoscedastic variance: the decoder network gives
    the mean ``x_loc``; the variance is one learned value per feature (as
    ``FactorAnalysis.noise_variance_``), started at ``init_variance`` and
    bounded below by ``min_variance_ratio`` times it, so that the likelihood
    stays bounded (a variance collapsing to 0 would make it infinite):
    ``log sigma^2 = log(ratio * init_variance) + softplus(raw)``.

    Parameters
    ----------
    init_variance : array-like of shape (n_features,)
        Positive starting variance of each feature (data units squared).
    min_variance_ratio : float, default=1e-3
        Floor of each variance, as a fraction of ``init_variance``.
    """

    def __init__(self, init_variance, min_variance_ratio=1e-3):
        super().__init__()
        init_variance = torch.as_tensor(init_variance, dtype=torch.float32)
        self.register_buffer(
            "x_logvar_floor", torch.log(min_variance_ratio * init_variance)
        )
        # softplus(raw) = log(1 / ratio)  <=>  x_logvar starts at log(init_variance)
        start = math.log(math.expm1(-math.log(min_variance_ratio)))
        self.x_logvar_raw = nn.Parameter(torch.full_like(init_variance, start))

    def x_logvar(self):
        """Per-feature log-variance, tensor of shape (n_features,), above its floor."""
        return self.x_logvar_floor + F.softplus(self.x_logvar_raw)

    def log_prob(self, x, decoder_out):
        """log p(x|z) of each row, in nats (AEVB appendix C.2).

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)
            Observed rows.
        decoder_out : torch.Tensor of shape (..., n_features)
            The decoder's means for the rows' codes.

        Returns
        -------
        torch.Tensor of shape (...,)
            Log-density summed over the features, nats.
        """
        return gaussian_log_prob(x, decoder_out, self.x_logvar())

    def mean(self, decoder_out):
        """E[x|z]: the decoder's output itself, shape (..., n_features)."""
        return decoder_out

    def sample(self, decoder_out, generator=None):
        """Draws x ~ p(x|z), shape (..., n_features), from ``generator``."""
        noise = torch.randn(
            decoder_out.shape,
            generator=generator,
            dtype=decoder_out.dtype,
            device=decoder_out.device,
        )
        return decoder_out + torch.exp(0.5 * self.x_logvar()) * noise


class BernoulliHead(nn.Module):
    """Bernoulli observation model p(x|z) (AEVB appendix C.1).

    The decoder gives the logits; the model has no parameters of its own.
    """

    def log_prob(self, x, decoder_out):
        """log p(x|z) of each row, in nats (AEVB appendix C.1).

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)
            Observed rows, values in [0, 1].
        decoder_out : torch.Tensor of shape (..., n_features)
            The decoder's logits for the rows' codes.

        Returns
        -------
        torch.Tensor of shape (...,)
            Log-probability summed over the features, nats.
        """
        return bernoulli_log_prob(x, decoder_out)

    def mean(self, decoder_out):
        """E[x|z] = sigmoid(logits), probabilities of shape (..., n_features)."""
        return torch.sigmoid(decoder_out)

    def sample(self, decoder_out, generator=None):
        """0/1 draws x ~ p(x|z), shape (..., n_features), from ``generator``."""
        return torch.bernoulli(torch.sigmoid(decoder_out), generator=generator)

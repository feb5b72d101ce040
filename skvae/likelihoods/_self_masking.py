"""Gaussian p(x | z) with a self-masking missingness model p(m | x) (not-MIWAE).

Torch only. The model of :class:`~skvae.VAEImputer`'s
``missing_mechanism='self_masking'``.
"""

import math

import torch
from torch import nn
from torch.special import log_ndtr, ndtri

from skvae.likelihoods._gaussian import Gaussian

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# a_j and c_j are this many times their parameters: Adam moves a parameter by
# about the learning rate per step, and a sharp threshold needs |a_j| of
# several units within the few hundred steps of a fit.
PARAM_SCALE = 10.0


class SelfMaskingGaussian(Gaussian):
    """A Gaussian likelihood times a per-feature self-masking missingness model.

    The joint model of not-MIWAE (Ipsen, Mattei & Frellsen, "not-MIWAE: Deep
    Generative Modelling with Missing not at Random Data", ICLR 2021,
    section 3, eq. 3-5): p(x, m | z) = p(x | z) p(m | x), where m_j = 1
    marks a missing entry, and p(m | x) = prod_j p(m_j | x_j) is the
    self-masking model of their section 3.2 (each feature's chance of going
    missing depends on its own value only). Where they use a logistic link
    and sample the missing values x_mis ~ p(x_mis | z) in the importance
    weights (their eq. 5), the link here is the probit (the standard normal
    CDF Phi, within 0.01 of the logistic after scaling its slope by 1.7)::

        p(m_j = 1 | x_j) = Phi(a_j u_j + c_j),   u_j = (x_j - loc_j) / scale_j

    so that the missing value integrates out in closed form (a Gaussian
    expectation of a probit; e.g. Rasmussen & Williams 2006, eq. 3.82)::

        p(m_j = 1 | z) = Phi(t_j),
        t_j = (a_j mu_u + c_j) / sqrt(1 + a_j^2 s_u^2)

    with mu_u and s_u the mean and standard deviation of u_j under
    p(x_j | z) = N(mu_j, sigma_j^2). Each row's log-probability is then::

        log p(x_obs, m | z) = sum_{j observed} [log N(x_j; mu_j, sigma_j^2)
                                                + log Phi(-(a_j u_j + c_j))]
                            + sum_{j missing} log Phi(t_j)

    the integrand of not-MIWAE's bound (their eq. 5) with x_mis integrated
    out exactly instead of sampled: the importance weights of training and
    of imputation are those of the same model, without the variance of the
    x_mis draws. The missingness terms count only the features that had
    missing entries in the training data (the others' terms are constant).

    The mean of a missing entry given z and that it is missing (used by
    imputation, :meth:`mean_missing`) is that of a skew-normal::

        E[x_j | z, m_j = 1] = mu_j + sigma_j^2 (a_j / scale_j)
                              phi(t_j) / (Phi(t_j) sqrt(1 + a_j^2 s_u^2))

    With a_j > 0 large values go missing (censoring from above), and their
    imputations move up from the decoder's mean; a_j = 0 is missing
    completely at random and gives the Gaussian's own mean.

    Parameters
    ----------
    missing_rate : array-like of shape (n_features,)
        The fraction of each feature's entries missing in the training data:
        the start of c_j (Phi^-1 of it, with a_j = 0) and, where 0, the
        features left out of the missingness model.
    min_variance_ratio, near_constant_ratio
        As in :class:`~skvae.likelihoods.Gaussian`.
    """

    def __init__(self, missing_rate, min_variance_ratio=1e-3, near_constant_ratio=None):
        super().__init__(
            min_variance_ratio=min_variance_ratio,
            near_constant_ratio=near_constant_ratio,
        )
        self.missing_rate = torch.as_tensor(missing_rate, dtype=torch.float32)

    def initialize(self, x_mean, x_var):
        """The Gaussian's start; the missingness model's: a = 0, c = Phi^-1(rate)."""
        out = super().initialize(x_mean, x_var)
        rate = self.missing_rate.reshape(-1)
        if rate.shape != x_mean.shape:
            raise ValueError(
                f"missing_rate has {rate.numel()} entries, the data "
                f"{x_mean.shape[-1]} features."
            )
        self.register_buffer("mask_loc", x_mean.detach().to(torch.float32).clone())
        scale = x_var.detach().to(torch.float32).clamp_min(1e-12).sqrt()
        self.register_buffer("mask_scale", scale)
        self.register_buffer("mask_features", rate > 0)
        start = ndtri(rate.clamp(1e-3, 1 - 1e-3))
        self.mask_slope_raw = nn.Parameter(torch.zeros_like(start))
        self.mask_bias_raw = nn.Parameter(start / PARAM_SCALE)
        return out

    @property
    def mask_slope(self):
        """a_j, tensor of shape (n_features,)."""
        return PARAM_SCALE * self.mask_slope_raw

    @property
    def mask_bias(self):
        """c_j, tensor of shape (n_features,)."""
        return PARAM_SCALE * self.mask_bias_raw

    def _probit_terms(self, decoder_out):
        """u's mean and variance under p(x | z), and t of p(m = 1 | z) = Phi(t)."""
        var_x = torch.exp(self.x_logvar())
        scale = self.mask_scale.to(decoder_out.dtype)
        mu_u = (decoder_out - self.mask_loc.to(decoder_out.dtype)) / scale
        var_u = var_x.to(decoder_out.dtype) / scale**2
        slope = self.mask_slope.to(decoder_out.dtype)
        root = torch.sqrt(1.0 + slope**2 * var_u)
        t = (slope * mu_u + self.mask_bias.to(decoder_out.dtype)) / root
        return var_x.to(decoder_out.dtype), scale, slope, root, t

    def mask_log_prob(self, x, decoder_out, observed=None):
        """log p(m | x_obs, z) of each row, the missing values integrated out (nats).

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)
            Rows, missing entries replaced by any finite value.
        decoder_out : torch.Tensor of shape (..., n_features)
            The decoder's means.
        observed : torch.Tensor of bool, shape (..., n_features), default=None
            The mask (None: all observed).

        Returns
        -------
        torch.Tensor of shape (...,)
        """
        *_, t = self._probit_terms(decoder_out)
        slope = self.mask_slope.to(x.dtype)
        u = (x - self.mask_loc.to(x.dtype)) / self.mask_scale.to(x.dtype)
        log_seen = log_ndtr(-(slope * u + self.mask_bias.to(x.dtype)))
        if observed is None:
            terms = log_seen
        else:
            terms = torch.where(observed, log_seen, log_ndtr(t))
        return (terms * self.mask_features).sum(dim=-1)

    def log_prob(self, x, decoder_out, observed=None):
        """log p(x_obs | z) + log p(m | x_obs, z) of each row, nats (see the class)."""
        log_px = super().log_prob(x, decoder_out, observed)
        return log_px + self.mask_log_prob(x, decoder_out, observed)

    def mean_missing(self, decoder_out):
        """E[x | z, m = 1]: each entry's mean given that it is missing (see class)."""
        var_x, scale, slope, root, t = self._probit_terms(decoder_out)
        mills = torch.exp(-0.5 * t**2 - LOG_SQRT_2PI - log_ndtr(t))  # phi / Phi
        shift = var_x * slope / scale * mills / root
        return torch.where(self.mask_features, decoder_out + shift, decoder_out)

    def sample_missing(self, decoder_out, generator=None):
        """A draw from p(x | z, m = 1) of each entry (the missing ones' law).

        With ``v = a u - e``, e ~ N(0, 1) independent, m = 1 exactly when
        v > -c: v is drawn from its normal law truncated there (by inversion),
        then u from its Gaussian law given v.
        """
        var_x, scale, slope, root, t = self._probit_terms(decoder_out)
        shape, dtype, device = decoder_out.shape, decoder_out.dtype, decoder_out.device
        uniform = torch.rand(shape, generator=generator, dtype=dtype, device=device)
        noise = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        tiny = torch.finfo(dtype).tiny
        # w = (v - a mu_u) / sqrt(V) given w > -t, i.e. -w < t: by inversion
        w = -ndtri((uniform * torch.exp(log_ndtr(t))).clamp_min(tiny))
        s_u = torch.sqrt(var_x) / scale
        u_shift = slope * s_u**2 / root * w + s_u / root * noise
        draw = decoder_out + scale * u_shift
        return torch.where(
            self.mask_features, draw, self.sample(decoder_out, generator)
        )

    def extra_repr(self):
        return f"self-masking (probit), {super().extra_repr()}"

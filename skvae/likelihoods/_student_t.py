"""Student-t observation model with learned degrees of freedom. Torch only."""

import math

import torch
from torch import nn
from torch.nn import functional as F

from skvae.likelihoods._base import Likelihood
from skvae.likelihoods._gaussian import (
    _floor_repr,
    check_near_constant_ratio,
    floored_logvar,
    init_floored_logvar,
)
from skvae.likelihoods._special import log_gamma_ratio, standard_gamma, standard_normal

LOG_PI = math.log(math.pi)


def student_t_log_prob(x, loc, log_scale, df):
    """log t_df(x; loc, scale) of each element, in nats.

    ``log Gamma((df + 1)/2) - log Gamma(df/2) - 1/2 log(df pi) - log scale
    - (df + 1)/2 log(1 + ((x - loc) / scale)^2 / df)`` (Johnson, Kotz &
    Balakrishnan 1995, ch. 28, with location and scale), the gamma ratio by
    :func:`~skvae.likelihoods._special.log_gamma_ratio` so that it keeps its
    digits for large df.
    """
    y = (x - loc) * torch.exp(-log_scale)
    return (
        log_gamma_ratio(torch.full_like(df, 0.5), df / 2)
        - 0.5 * (torch.log(df) + LOG_PI)
        - log_scale
        - (df + 1) / 2 * torch.log1p(y * y / df)
    )


class StudentT(Likelihood):
    """Student-t p(x | z) for heavy-tailed data: decoder location, learned scale and df.

    ``x_i | z ~ t_{df_i}(loc_i(z), sigma_i)``: the decoder gives the location;
    each feature has a learned scale sigma_i and degrees of freedom df_i, so a
    few outlying rows cost log-polynomially, not quadratically, and pull the
    fit less than under a Gaussian. A Student-t observation model in a deep
    latent variable model: Takahashi et al. (2018); Mattei & Frellsen (2019),
    MIWAE's likelihood for continuous data. The density (nats) is
    :func:`student_t_log_prob`; as df -> inf it is the Gaussian likelihood.

    - **Degrees of freedom**: ``df = min_df + softplus(raw)``, started at
      ``df_init``. ``min_df`` is at least 1, so df > 1 always and the mean
      exists and :meth:`mean` (the location) is E[x | z]; the variance
      ``sigma^2 df / (df - 2)`` is infinite while df <= 2 (Cauchy-like tails
      remain reachable). Raise ``min_df`` to 2 to keep it finite.
    - **Scale**: starts where the t's variance equals the feature's training
      variance, ``sigma^2 = x_var (df_init - 2) / df_init`` (hence ``df_init >
      2``), and is bounded below as :class:`Gaussian`'s variance is, so the
      likelihood stays bounded: ``sigma_j^2 >= min_variance_ratio * s_j``,
      s the starting sigma^2, or ``near_constant_ratio`` times the median of s
      for a near-constant feature (at least twice its floor). ``x_logvar()``
      is log sigma^2 (of the scale, not the variance).

    Translating x and the location together leaves the density unchanged
    (``location_family = True``).

    Parameters
    ----------
    df_init : float, default=5.0
        Starting degrees of freedom, > 2 and > ``min_df``.
    min_df : float, default=1.0
        Lower bound of the degrees of freedom (df > min_df always), >= 1, so
        that E[x | z] exists (:meth:`mean`, used by imputation and
        ``inverse_transform``). ValueError below 1.
    min_variance_ratio : float, default=1e-3
        Floor of each sigma^2, as a fraction of its start.
    near_constant_ratio : float or None, default=None
        A feature whose start is at most this fraction of the median start
        (over the features this likelihood models) is near-constant, and
        floored at this fraction of that median. None (or less than
        ``min_variance_ratio``): ``min_variance_ratio``. ValueError unless
        None or in (0, 1).

    References
    ----------
    Johnson, N. L., Kotz, S. and Balakrishnan, N. (1995). Continuous
    Univariate Distributions, vol. 2, 2nd edition, ch. 28. Wiley.

    Takahashi, H., Iwata, T., Yamanaka, Y., Yamada, M. and Yagi, S. (2018).
    Student-t variational autoencoder for robust density estimation. IJCAI.

    Mattei, P.-A. and Frellsen, J. (2019). MIWAE: deep generative modelling
    and imputation of incomplete data sets. ICML, arXiv:1812.02633.
    """

    location_family = True
    near_constant_ratio = None  # (instances pickled before it existed lack it)

    def __init__(
        self, df_init=5.0, min_df=1.0, min_variance_ratio=1e-3, near_constant_ratio=None
    ):
        super().__init__()
        if not min_df >= 1:
            raise ValueError(
                f"min_df must be >= 1, got {min_df!r}: below df = 1 the t has no "
                "mean, and E[x | z] (imputation, inverse_transform) would not exist."
            )
        if not (df_init > 2 and df_init > min_df):
            raise ValueError(
                f"df_init must be > 2 and > min_df={min_df!r}, got {df_init!r}."
            )
        self.df_init = df_init
        self.min_df = min_df
        self.min_variance_ratio = min_variance_ratio
        self.near_constant_ratio = check_near_constant_ratio(near_constant_ratio)

    def initialize(self, x_mean, x_var):
        """df at ``df_init``; sigma^2 so the t's variance is ``x_var``.

        The decoder's output map is (x_mean, sqrt(x_var)), as a Gaussian's.
        """
        start = x_var * ((self.df_init - 2) / self.df_init)
        init_floored_logvar(
            self, start, self.min_variance_ratio, self.near_constant_ratio
        )
        # softplus(raw) = df_init - min_df
        raw = math.log(math.expm1(self.df_init - self.min_df))
        self.df_raw = nn.Parameter(torch.full_like(self.x_logvar_floor, raw))
        return x_mean, x_var.sqrt()

    def x_logvar(self):
        """Per-feature log sigma^2 (sigma the scale), shape (n_features,)."""
        return floored_logvar(self)

    def df(self):
        """Per-feature degrees of freedom, shape (n_features,), above ``min_df``."""
        return self.min_df + F.softplus(self.df_raw)

    def feature_log_prob(self, x, decoder_out):
        return student_t_log_prob(x, decoder_out, 0.5 * self.x_logvar(), self.df())

    def mean(self, decoder_out):
        """E[x | z]: the location, the decoder's output (df > 1)."""
        return decoder_out

    def sample(self, decoder_out, generator=None):
        """``loc + sigma * N / sqrt(G / (df/2))``, G ~ Gamma(df/2, 1): a t_df draw.

        (Johnson, Kotz & Balakrishnan 1995, ch. 28: a standard normal over the
        square root of an independent chi^2_df / df, chi^2_df = 2 G.)
        """
        with torch.no_grad():
            half_df = (self.df() / 2).to(decoder_out.dtype).expand(decoder_out.shape)
            normal = standard_normal(decoder_out, generator)
            gamma = standard_gamma(half_df.contiguous(), generator)
            scale = torch.exp(0.5 * self.x_logvar()).to(decoder_out.dtype)
            return decoder_out + scale * normal * torch.rsqrt(gamma / half_df)

    def extra_repr(self):
        return f"df_init={self.df_init}, min_df={self.min_df}, " + _floor_repr(self)

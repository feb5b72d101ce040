"""Count observation models: Poisson and negative binomial. Torch only."""

import torch
from torch import nn
from torch.distributions import constraints
from torch.nn import functional as F

from skvae.likelihoods._base import Likelihood
from skvae.likelihoods._special import log_gamma_ratio, standard_gamma

#: :meth:`Poisson.initialize` and :meth:`NegativeBinomial.initialize` start
#: the rate of a feature that is always 0 at this (log-rate about -9.2).
MIN_RATE = 1e-4

#: Bounds of the negative binomial's starting inverse dispersion theta.
THETA_START_BOUNDS = (1e-2, 1e4)


def poisson_log_prob(k, log_rate):
    """log Poisson(k; exp(log_rate)) = k eta - e^eta - log k!, elementwise, nats."""
    return k * log_rate - torch.exp(log_rate) - torch.lgamma(k + 1)


def log_mean_start(x_mean):
    """A log-rate start: the log of each feature's mean, at least ``MIN_RATE``."""
    return torch.log(x_mean.clamp(min=MIN_RATE))


class Poisson(Likelihood):
    """Poisson p(x | z) for counts, the decoder giving the log-rate.

    ``log p(k | eta) = k eta - exp(eta) - log k!``, eta the decoder's output,
    E[k | z] = Var[k | z] = exp(eta) (Cameron & Trivedi 2013, section 3.2, the
    Poisson regression model with its exponential mean function; HI-VAE's
    likelihood for count data, Nazabal et al. 2020). Log-probabilities in
    nats; ``exp(eta)`` overflows float32 for eta > 88 (a rate above 1e38).

    The data must be nonnegative integers (stored as floats).

    References
    ----------
    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count
    Data, 2nd edition. Cambridge University Press.

    Nazabal, A., Olmos, P. M., Ghahramani, Z. and Valera, I. (2020). Handling
    incomplete heterogeneous data using VAEs. Pattern Recognition 107.
    """

    support = constraints.nonnegative_integer

    def initialize(self, x_mean, x_var):
        """The log-rate starts at the log of each feature's mean (at least 1e-4)."""
        return log_mean_start(x_mean), torch.ones_like(x_mean)

    def feature_log_prob(self, x, decoder_out):
        return poisson_log_prob(x, decoder_out)

    def mean(self, decoder_out):
        """E[x | z] = exp(eta), shape (..., n_features)."""
        return torch.exp(decoder_out)

    def sample(self, decoder_out, generator=None):
        """Counts (as floats), shape (..., n_features)."""
        return torch.poisson(torch.exp(decoder_out), generator=generator)


class NegativeBinomial(Likelihood):
    """Negative binomial p(x | z) for overdispersed counts: decoder mean, learned theta.

    Parameterized as in scVI (Lopez et al. 2018, Methods; scvi-tools'
    ``scvi.distributions.NegativeBinomial`` with ``mu`` and ``theta``): the
    decoder gives the log-mean ``eta = log mu``; each feature has a learned
    inverse dispersion ``theta > 0`` (torch's ``total_count``), so that
    ``Var[k | z] = mu + mu^2 / theta``. The probability of a count k is the
    NB2 model of Cameron & Trivedi (2013), section 3.3::

        log p(k) = log Gamma(k + theta) - log Gamma(theta) - log k!
                   + theta log(theta / (theta + mu)) + k log(mu / (theta + mu))

    computed as ``log_gamma_ratio(k, theta) - lgamma(k + 1) - theta
    softplus(eta - log theta) - k softplus(log theta - eta)``, which keeps its
    digits when theta is large (small dispersion, the Poisson limit theta ->
    inf), where lgamma's difference and ``theta log(theta / (theta + mu))``
    would not (see :func:`~skvae.likelihoods._special.log_gamma_ratio`).
    In torch.distributions terms: ``NegativeBinomial(total_count=theta,
    logits=eta - log theta)``.

    theta is stored as ``log_theta`` (as scvi-tools' ``px_r``) and starts at
    the moment estimate of the data's marginal dispersion, ``mean^2 /
    (variance - mean)``, bounded to [1e-2, 1e4] (1e4 where the data are not
    overdispersed): the fit of a decoder that ignores z, as a Gaussian starts
    at the data's variance. theta needs no floor: a probability mass is at
    most 1, so the likelihood stays bounded.

    The data must be nonnegative integers (stored as floats).

    References
    ----------
    Lopez, R., Regier, J., Cole, M. B., Jordan, M. I. and Yosef, N. (2018).
    Deep generative modeling for single-cell transcriptomics. Nature Methods
    15, 1053-1058.

    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count
    Data, 2nd edition. Cambridge University Press.
    """

    support = constraints.nonnegative_integer

    def initialize(self, x_mean, x_var):
        """log_theta from the data's moments; the log-mean at log(x_mean)."""
        excess = x_var - x_mean
        low, high = THETA_START_BOUNDS
        theta = torch.where(
            excess > 0,
            x_mean.pow(2) / excess.clamp(min=1e-30),
            torch.full_like(x_mean, high),
        )
        theta = theta.clamp(low, high)
        self.log_theta = nn.Parameter(torch.log(theta).to(torch.float32))
        return log_mean_start(x_mean), torch.ones_like(x_mean)

    def theta(self):
        """Per-feature inverse dispersion, tensor of shape (n_features,)."""
        return torch.exp(self.log_theta)

    def feature_log_prob(self, x, decoder_out):
        log_theta = self.log_theta
        theta = torch.exp(log_theta)
        return (
            log_gamma_ratio(x, theta)
            - torch.lgamma(x + 1)
            - theta * F.softplus(decoder_out - log_theta)
            - x * F.softplus(log_theta - decoder_out)
        )

    def mean(self, decoder_out):
        """E[x | z] = mu = exp(eta), shape (..., n_features)."""
        return torch.exp(decoder_out)

    def sample(self, decoder_out, generator=None):
        """Counts (as floats) from the gamma-Poisson mixture, shape (..., n_features).

        ``rate ~ Gamma(theta, scale mu / theta)``, ``k ~ Poisson(rate)``
        (Lopez et al. 2018, Methods; as torch.distributions.NegativeBinomial).
        """
        with torch.no_grad():
            theta = self.theta().to(decoder_out.dtype).expand(decoder_out.shape)
            gamma = standard_gamma(theta.contiguous(), generator)
            rate = gamma * torch.exp(decoder_out) / theta
            return torch.poisson(rate, generator=generator)

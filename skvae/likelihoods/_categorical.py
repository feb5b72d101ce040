"""Categorical observation model of one group of one-hot columns. Torch only."""

import torch
from torch.distributions import constraints
from torch.nn import functional as F

from skvae.likelihoods._base import Likelihood
from skvae.likelihoods._special import uniform

#: :meth:`Categorical.initialize` gives a category never seen in training at
#: least this frequency (log-probability about -9.2).
MIN_FREQUENCY = 1e-4


class _OneHotOrZero(constraints.Constraint):
    """Rows of one-hot columns, or all-zero rows (a missing category).

    Row-wise (``event_dim = 1``): a row passes when each entry is 0, 1 or NaN
    (missing) and at most one is 1. ``constraints.one_hot`` refuses all-zero
    rows, which :class:`Categorical` reads as missing.
    """

    is_discrete = True
    event_dim = 1

    def check(self, value):
        binary = (value == 0) | (value == 1) | torch.isnan(value)
        return binary.all(dim=-1) & ((value == 1).sum(dim=-1) <= 1)

    def __repr__(self):
        return "OneHotOrZero()"


#: Rows of one-hot columns, all-zero rows allowed (read as missing).
one_hot_or_zero = _OneHotOrZero()


class Categorical(Likelihood):
    """Categorical p(x | z) over ONE group of one-hot columns (one per category).

    The decoder gives one logit per category (the group's columns, in their
    order); ``log p(x | z) = log_softmax(logits)[c]`` for the row's category
    c, the column holding 1 (the categorical distribution with softmax
    probabilities, Bishop 2006, section 4.3.4; HI-VAE's likelihood for
    categorical data, Nazabal et al. 2020). Nats. For several categorical
    columns, give each group its own ``Categorical`` in a
    :class:`~skvae.likelihoods.ColumnLikelihoods`; on a whole matrix it is
    one categorical variable.

    **Missing categories.** A row counts when one of its *observed* entries is
    1: that is its category, whatever the other entries hold. A row whose
    observed entries are all 0 (an all-zero or all-NaN row, or one whose 1 is
    masked out) contributes 0: its category is missing. So
    :meth:`feature_log_prob` puts the row's log-probability on the column of
    its 1 and 0 elsewhere, and the base class's masked sum does the rest.
    Beware one-hot encodings that drop a category (``OneHotEncoder(drop=...)``,
    ``get_dummies(drop_first=True)``): their all-zero rows are a category, not
    a missing value; :meth:`data_warning` says so.

    ``mean`` is the softmax probabilities; ``sample`` one-hot rows.

    References
    ----------
    Bishop, C. M. (2006). Pattern Recognition and Machine Learning. Springer.

    Nazabal, A., Olmos, P. M., Ghahramani, Z. and Valera, I. (2020). Handling
    incomplete heterogeneous data using VAEs. Pattern Recognition 107.
    """

    support = one_hot_or_zero

    def initialize(self, x_mean, x_var):
        """The logits start at the log of each category's training frequency.

        (normalized; a category never seen starts at frequency 1e-4.)
        """
        log_freq = torch.log(x_mean.clamp(min=MIN_FREQUENCY))
        return log_freq - torch.logsumexp(log_freq, dim=-1), torch.ones_like(x_mean)

    def feature_log_prob(self, x, decoder_out):
        """``log_softmax(logits)`` on the column of the row's 1, else 0, nats."""
        log_p = F.log_softmax(decoder_out, dim=-1)
        return torch.where(x > 0.5, log_p, torch.zeros_like(log_p))

    def mean(self, decoder_out):
        """Probabilities softmax(logits), shape (..., n_categories)."""
        return F.softmax(decoder_out, dim=-1)

    def sample(self, decoder_out, generator=None):
        """One-hot rows, shape (..., n_categories), by the Gumbel-max trick.

        ``argmax(logits + G)``, G standard Gumbel, is a draw of the categorical
        (Gumbel 1954; e.g. Jang et al. 2017, section 2).
        """
        with torch.no_grad():
            gumbel = -torch.log(-torch.log(uniform(decoder_out, generator)))
            index = torch.argmax(decoder_out + gumbel, dim=-1)
            return F.one_hot(index, decoder_out.shape[-1]).to(decoder_out.dtype)

    def data_warning(self, x):
        """A message when rows of the group are all zero (read as missing).

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_categories)
            Training values (missing entries are NaN).
        """
        n_zero = int(((x == 0).all(dim=-1)).sum())
        if not n_zero:
            return None
        return (
            f"{n_zero} of {x.shape[0]} rows have all {x.shape[-1]} one-hot columns "
            "of a categorical group at 0: the categorical likelihood treats their "
            "category as missing. If they encode a category (a one-hot encoding "
            "that drops one, e.g. OneHotEncoder(drop='first') or "
            "pandas.get_dummies(drop_first=True)), encode every category."
        )

"""The likelihood layer's extension point: the observation model p(x | z).

Torch only: nothing here sees numpy, sklearn or skorch.
"""

from typing import NamedTuple

from torch import nn
from torch.distributions import constraints


class ColumnBlock(NamedTuple):
    """One likelihood over some columns of a row (see :meth:`Likelihood.column_blocks`).

    Attributes
    ----------
    likelihood : Likelihood
        The observation model of these columns; its ``support`` is what their
        values must satisfy.
    columns : tuple of int
        The row's columns it models, in the order it sees them.
    outputs : slice
        Its part of the decoder's output, of width
        ``likelihood.n_outputs(len(columns))``.
    """

    likelihood: "Likelihood"
    columns: tuple
    outputs: slice


class Likelihood(nn.Module):
    """Base class of observation models p_theta(x | z), given the decoder's output.

    The decoder network maps a code z to ``decoder_out``, a tensor of shape
    (..., n_outputs); a likelihood turns it into a distribution over the row x,
    of shape (..., n_features). Subclasses implement, for a block of columns:

    - :meth:`feature_log_prob` (or :meth:`log_prob` for a likelihood that is
      not a product over features), :meth:`mean` and :meth:`sample`;
    - optionally :meth:`initialize`, which creates per-feature parameters and
      places the decoder's output from the training data's statistics, and
      :meth:`n_outputs`, when the decoder gives other than one value per feature;
    - ``support``, a :mod:`torch.distributions.constraints` constraint on the
      values of x, which the estimator checks before fitting (so that a count
      likelihood refuses 1.5, naming the column);
    - ``location_family = True`` when the family is closed under translation:
      ``p(x + c | decoder_out + c) = p(x | decoder_out)`` for every constant
      c, with the decoder's output the location and no per-feature parameter
      tied to where the data sit (Gaussian, Student-t, the Laplace below).
      The estimator may then centre those columns in float64 before casting
      to float32, which loses no digits of data far from 0. Leave it False
      when x's origin matters (counts, [0, 1], categories);
    - optionally :meth:`data_warning`, a message for data that are in the
      support but poorly modelled.

    Units: log-densities in nats, summed over the observed features of a row.

    Examples
    --------
    A Laplace likelihood with one learned scale per feature::

        class Laplace(Likelihood):
            location_family = True

            def initialize(self, x_mean, x_var):
                self.log_scale = nn.Parameter(0.5 * x_var.log() - 0.5 * math.log(2))
                return x_mean, x_var.sqrt()

            def feature_log_prob(self, x, decoder_out):
                return -(x - decoder_out).abs() / self.log_scale.exp() - (
                    math.log(2) + self.log_scale
                )

            def mean(self, decoder_out):
                return decoder_out

            def sample(self, decoder_out, generator=None):
                u = torch.rand(decoder_out.shape, generator=generator) - 0.5
                return decoder_out - self.log_scale.exp() * u.sign() * torch.log1p(
                    -2 * u.abs()
                )
    """

    #: Values x may take, as a :mod:`torch.distributions.constraints` object.
    support = constraints.real

    #: True when the family is closed under translation of x (a location
    #: family: p(x + c | location + c) = p(x | location)), so the estimator may
    #: centre the data in float64 before the cast to float32.
    location_family = False

    def n_outputs(self, n_features):
        """Width of the decoder's output for ``n_features`` columns (default: same)."""
        return n_features

    def column_blocks(self, n_features):
        """The likelihoods of the row's columns: here one block over all of them.

        :class:`ColumnLikelihoods` returns one block per likelihood, so the
        estimator can check each block's ``support`` on its own columns and
        name an offending column the same way for every likelihood.

        Returns
        -------
        tuple of ColumnBlock
            One block here: this likelihood over every column.
        """
        return (
            ColumnBlock(
                self, tuple(range(n_features)), slice(0, self.n_outputs(n_features))
            ),
        )

    def location_columns(self, n_features):
        """Columns the estimator may centre (see ``location_family``): all or none.

        Returns
        -------
        tuple of int
            The column indices.
        """
        return tuple(range(n_features)) if self.location_family else ()

    def initialize(self, x_mean, x_var):
        """Set up from the training data; return the decoder's fixed output map.

        Called once when the networks are built (and with placeholder
        statistics when a saved model is loaded, before its weights are).

        Parameters
        ----------
        x_mean, x_var : torch.Tensor of shape (n_features,)
            Per-feature mean and (positive) variance of the training rows.

        Returns
        -------
        out_loc, out_scale : torch.Tensor of shape (n_outputs,)
            The default decoder outputs ``out_loc + out_scale * mlp(z)``, so
            that it starts near the data. The base class returns 0 and 1.
        """
        width = self.n_outputs(x_mean.shape[-1])
        return x_mean.new_zeros(width), x_mean.new_ones(width)

    def feature_log_prob(self, x, decoder_out):
        """log p(x_i | z) of each feature, shape (..., n_features), in nats."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement feature_log_prob or log_prob."
        )

    def log_prob(self, x, decoder_out, observed=None):
        """log p(x | z) of each row, summed over the observed features, in nats.

        Parameters
        ----------
        x : torch.Tensor of shape (..., n_features)
            Rows, with missing entries already replaced by a valid value.
        decoder_out : torch.Tensor of shape (..., n_outputs)
            The decoder's output for the rows' codes.
        observed : torch.Tensor of bool, shape (..., n_features), default=None
            Which entries count; None counts all.

        Returns
        -------
        torch.Tensor of shape (...,)
            The log-likelihood of each row, nats.
        """
        log_p = self.feature_log_prob(x, decoder_out)
        if observed is not None:
            log_p = log_p * observed
        return log_p.sum(dim=-1)

    def mean(self, decoder_out):
        """E[x | z], shape (..., n_features)."""
        raise NotImplementedError

    def sample(self, decoder_out, generator=None):
        """A draw x ~ p(x | z), shape (..., n_features), from ``generator``."""
        raise NotImplementedError

    def observation_precision(self):
        """Per-feature precision 1 / sigma^2 of a Gaussian p(x | z), or None.

        A tensor of shape (n_features,) when p(x | z) is N(x; decoder_out,
        diag(sigma^2)): what imputation's Laplace proposal needs (see
        :meth:`skvae.VAEModule.laplace_posterior`). The base class has none.

        Returns
        -------
        torch.Tensor of shape (n_features,) or None
            The precisions, 1 / (data units)^2; None here.
        """
        return None

    def mean_missing(self, decoder_out):
        """E[x | z, x missing], shape (..., n_features): what imputation averages.

        :meth:`mean` itself, unless whether an entry goes missing depends on
        its value under the model (a self-masking missingness model, as in
        ``VAEImputer(missing_mechanism='self_masking')``).
        """
        return self.mean(decoder_out)

    def sample_missing(self, decoder_out, generator=None):
        """A draw from p(x | z, x missing), shape (..., n_features).

        :meth:`sample` itself, unless the missingness depends on the value
        (see :meth:`mean_missing`).
        """
        return self.sample(decoder_out, generator)

    def data_warning(self, x):
        """A message when x is in the support but poorly modelled, else None.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, n_features)
            Training values (missing entries are NaN).
        """
        return None

"""Per-column likelihoods: one observation model per block of columns. Torch only."""

import copy
from collections import Counter
from numbers import Integral

import torch
from torch import nn
from torch.distributions import constraints

from skvae.likelihoods._base import ColumnBlock, Likelihood


def _as_columns(columns, position):
    """``columns`` (an int or a sequence of ints) as a tuple of ints."""
    if isinstance(columns, Integral) and not isinstance(columns, bool):
        columns = (columns,)
    try:
        columns = tuple(columns)
    except TypeError:
        columns = None
    if (
        not columns
        or not all(isinstance(c, Integral) and not isinstance(c, bool) for c in columns)
        or min(columns) < 0
    ):
        raise ValueError(
            f"Block {position} of ColumnLikelihoods: columns must be a nonnegative "
            f"int or a nonempty sequence of them, got {columns!r}."
        )
    return tuple(int(c) for c in columns)


class ColumnLikelihoods(Likelihood):
    """Per-column likelihoods: each block of a row's columns has its own model.

    ``log p(x | z) = sum_b log p_b(x[columns_b] | z)``: the blocks are
    conditionally independent given z, so the ELBO sums their log-densities
    (nats) and stays a bound on log p(x) (the factorization over
    heterogeneous attributes of HI-VAE, Nazabal et al. 2020). A Gaussian block,
    a Poisson block and one :class:`Categorical` per group of one-hot
    columns, say, share one decoder.

    The decoder's output is the blocks' outputs concatenated **in the order
    of the blocks**: block b reads ``decoder_out[..., outputs_b]`` (see
    :meth:`column_blocks`), of width ``likelihood_b.n_outputs(len(columns_b))``,
    and each block sees its columns in the order given. :meth:`mean`,
    :meth:`sample` and :meth:`feature_log_prob` put the blocks' values back in
    the row's column order.

    Parameters
    ----------
    blocks : sequence of (Likelihood, columns) pairs
        ``columns`` is an int or a sequence of column indices; every column
        ``0 .. n_features - 1`` must be in exactly one block. Each likelihood
        is deep-copied, so one instance may serve several blocks.

    Attributes
    ----------
    blocks : torch.nn.ModuleList of Likelihood
        The blocks' likelihoods (submodules: their parameters train, and their
        state_dict keys are ``blocks.<b>.<name>``).
    columns : tuple of tuple of int
        Each block's columns.
    n_features : int
        Width of the rows.

    Notes
    -----
    ``support`` is ``constraints.real``: one constraint cannot say that
    column 2 holds counts and columns 3-5 a one-hot group. Check each block's
    ``support`` on its columns instead (:meth:`column_blocks`).
    ``location_family`` is False; :meth:`location_columns` lists the columns
    of location-family blocks.

    Examples
    --------
    >>> import torch
    >>> from skvae.likelihoods import Categorical, ColumnLikelihoods, Gaussian, Poisson
    >>> lik = ColumnLikelihoods(
    ...     [(Gaussian(), [0, 1]), (Poisson(), 4), (Categorical(), [2, 3, 5])]
    ... )
    >>> [(type(b.likelihood).__name__, b.columns) for b in lik.column_blocks(6)]
    [('Gaussian', (0, 1)), ('Poisson', (4,)), ('Categorical', (2, 3, 5))]
    >>> lik.location_columns(6)
    (0, 1)
    """

    support = constraints.real

    def __init__(self, blocks):
        super().__init__()
        likelihoods, columns = [], []
        for position, block in enumerate(blocks):
            try:
                likelihood, cols = block
            except (TypeError, ValueError):
                raise ValueError(
                    "ColumnLikelihoods takes (likelihood, columns) pairs; block "
                    f"{position} is {block!r}."
                ) from None
            if not isinstance(likelihood, Likelihood):
                raise TypeError(
                    f"Block {position} of ColumnLikelihoods: {likelihood!r} is not "
                    "a skvae.likelihoods.Likelihood instance."
                )
            likelihoods.append(copy.deepcopy(likelihood))
            columns.append(_as_columns(cols, position))
        if not columns:
            raise ValueError("ColumnLikelihoods needs at least one block.")
        flat = [c for cols in columns for c in cols]
        repeated = sorted(c for c, count in Counter(flat).items() if count > 1)
        if repeated:
            raise ValueError(
                f"Columns {repeated} are in more than one block of ColumnLikelihoods."
            )
        missing = sorted(set(range(max(flat) + 1)) - set(flat))
        if missing:
            raise ValueError(
                f"Columns {missing} are in no block of ColumnLikelihoods: every "
                f"column 0..{max(flat)} must be in one."
            )
        self.blocks = nn.ModuleList(likelihoods)
        self.columns = tuple(columns)
        self.n_features = len(flat)
        for b, cols in enumerate(self.columns):
            self.register_buffer(f"_index_{b}", torch.tensor(cols), persistent=False)
        # Position of each column in the blocks' concatenated order.
        order = torch.tensor(flat)
        self.register_buffer("_inverse", torch.argsort(order), persistent=False)

    # ------------------------------------------------------------- the blocks

    def _check_width(self, n_features):
        if n_features != self.n_features:
            raise ValueError(
                f"This ColumnLikelihoods covers {self.n_features} columns, but the "
                f"data have {n_features}."
            )

    def _index(self, b):
        return getattr(self, f"_index_{b}")

    def column_blocks(self, n_features=None):
        """Each block's likelihood, columns and slice of the decoder's output.

        Parameters
        ----------
        n_features : int, default=None
            Checked against :attr:`n_features` when given.

        Returns
        -------
        tuple of ColumnBlock
            ``(likelihood, columns, outputs)`` per block, in block order.
        """
        if n_features is not None:
            self._check_width(n_features)
        out, start = [], 0
        for likelihood, cols in zip(self.blocks, self.columns):
            width = likelihood.n_outputs(len(cols))
            out.append(ColumnBlock(likelihood, cols, slice(start, start + width)))
            start += width
        return tuple(out)

    def _parts(self):
        """``(likelihood, column index tensor, output slice)`` of each block."""
        return [
            (block.likelihood, self._index(b), block.outputs)
            for b, block in enumerate(self.column_blocks())
        ]

    def location_columns(self, n_features=None):
        """Columns of location-family blocks (which the estimator may centre).

        Each block's own :meth:`~Likelihood.location_columns`, mapped to the
        row's columns.

        Returns
        -------
        tuple of int
            Sorted.
        """
        if n_features is not None:
            self._check_width(n_features)
        return tuple(
            sorted(
                cols[i]
                for likelihood, cols in zip(self.blocks, self.columns)
                for i in likelihood.location_columns(len(cols))
            )
        )

    # ------------------------------------------------- the Likelihood methods

    def n_outputs(self, n_features):
        """Sum of the blocks' output widths."""
        return self.column_blocks(n_features)[-1].outputs.stop

    def initialize(self, x_mean, x_var):
        """Initialize each block on its columns' statistics; concatenate the maps."""
        self._check_width(x_mean.shape[-1])
        locs, scales = [], []
        for likelihood, cols in zip(self.blocks, self.columns):
            index = list(cols)
            loc, scale = likelihood.initialize(x_mean[index], x_var[index])
            locs.append(torch.as_tensor(loc).to(x_mean.dtype))
            scales.append(torch.as_tensor(scale).to(x_mean.dtype))
        return torch.cat(locs), torch.cat(scales)

    def log_prob(self, x, decoder_out, observed=None):
        """Sum of the blocks' log_prob, each on its columns and outputs, nats.

        ``observed`` (shape (..., n_features)) is sliced per block the same way.
        """
        total = 0
        for likelihood, index, outputs in self._parts():
            block_observed = None
            if observed is not None:
                block_observed = observed.index_select(-1, index)
            total = total + likelihood.log_prob(
                x.index_select(-1, index), decoder_out[..., outputs], block_observed
            )
        return total

    def _in_column_order(self, parts):
        """The blocks' (..., width_b) values as (..., n_features), column order."""
        return torch.cat(parts, dim=-1).index_select(-1, self._inverse)

    def feature_log_prob(self, x, decoder_out):
        """The blocks' per-feature log-densities in column order, nats.

        Only for blocks that are products over their features (that implement
        ``feature_log_prob``).
        """
        return self._in_column_order(
            [
                likelihood.feature_log_prob(
                    x.index_select(-1, index), decoder_out[..., outputs]
                )
                for likelihood, index, outputs in self._parts()
            ]
        )

    def mean(self, decoder_out):
        """E[x | z] of each block, in column order, shape (..., n_features)."""
        return self._in_column_order(
            [
                likelihood.mean(decoder_out[..., outputs])
                for likelihood, _, outputs in self._parts()
            ]
        )

    def sample(self, decoder_out, generator=None):
        """A draw of each block (drawn in block order), in column order."""
        return self._in_column_order(
            [
                likelihood.sample(decoder_out[..., outputs], generator)
                for likelihood, _, outputs in self._parts()
            ]
        )

    def data_warning(self, x):
        """The blocks' messages, each naming its columns; None if none."""
        messages = []
        for likelihood, index, _ in self._parts():
            message = likelihood.data_warning(x.index_select(-1, index.to(x.device)))
            if message:
                columns = index.tolist()
                messages.append(
                    f"Columns {columns} ({type(likelihood).__name__}): {message}"
                )
        return "\n".join(messages) or None

    def extra_repr(self):
        return f"columns={self.columns}"

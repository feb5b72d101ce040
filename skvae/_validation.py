"""sklearn-facing checks of user input, and the sklearn names skvae uses.

The only module that imports sklearn's private API, so that a change there is
mended in one place. Checks of the data's values ask the likelihood which
values it accepts (its ``support``, a torch.distributions constraint).
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import _fit_context  # noqa: F401  (re-exported)
from sklearn.utils import check_random_state
from sklearn.utils._missing import is_scalar_nan  # noqa: F401
from sklearn.utils._param_validation import (  # noqa: F401
    Interval,
    MissingValues,
    RealNotInt,
    StrOptions,
)
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (  # noqa: F401
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)
from torch.distributions import constraints

FLOAT_DTYPES = (np.float64, np.float32)
SPARSE_FORMATS = ("csr", "csc")


def output_container(estimator):
    """'default', 'pandas' or 'polars': what ``set_output(transform=...)`` asks."""
    return _get_output_config("transform", estimator)["dense"]


def draw_seed(random_state):
    """One int seed for torch from a ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def check_positive_int(value, name):
    """Raise ``ValueError`` unless ``value`` is a positive integer."""
    if not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def _values(X):
    """The stored values of X: a dense array, or a sparse matrix's nonzeros."""
    return X.data if sp.issparse(X) else X


def _interval(support):
    """``(lower, upper)`` of an interval support, else None."""
    if isinstance(support, constraints._Interval):
        return support.lower_bound, support.upper_bound
    return None


def _column_names(columns, feature_names):
    if feature_names is None:
        return [f"column {c}" for c in columns]
    return [repr(str(feature_names[c])) for c in columns]


def check_support(X, likelihood, *, name, method, feature_names=None):
    """Raise ``ValueError`` unless each block of columns is in its likelihood's
    support (``likelihood.column_blocks``), naming the likelihood and columns.

    X is dense or sparse and is not modified; NaN (missing) is not checked.
    ``name`` is how the user named a single likelihood (None: the blocks'
    class names), for the message. Constraints on single values (intervals,
    integers) read a sparse matrix's stored values only; constraints on rows
    (a one-hot group) see the block's columns densified.
    """
    for block in likelihood.column_blocks(X.shape[1]):
        support = block.likelihood.support
        if isinstance(support, constraints._Real):
            continue
        label = name or _registered_name(block.likelihood)
        columns = list(block.columns)
        every = len(columns) == X.shape[1]
        where = (
            "" if every else " in " + ", ".join(_column_names(columns, feature_names))
        )
        if support.event_dim == 0:
            part = X if every else X[:, columns]
            _check_values(_values(part), support, label, method, where, part)
        else:
            part = X[:, columns]
            part = part.toarray() if sp.issparse(part) else np.asarray(part)
            ok = support.check(torch.as_tensor(part))
            if not bool(ok.all()):
                row = int(np.flatnonzero(~ok.numpy())[0])
                raise ValueError(
                    f"likelihood={label!r} needs each row of {where[4:]} to be "
                    f"in {support} in {method}, but row {row} is "
                    f"{part[row].tolist()}."
                )


def _check_values(values, support, label, method, where, part):
    if np.isnan(values).any():
        values = values[~np.isnan(values)]
    if sp.issparse(part) and part.nnz < np.prod(part.shape):
        values = np.append(values, 0.0)  # the implicit zeros
    if not values.size:
        return
    bounds = _interval(support)
    if bounds is not None:
        lower, upper = bounds
        if values.min() < lower or values.max() > upper:
            raise ValueError(
                f"likelihood={label!r} needs X in [{lower:g}, {upper:g}] in "
                f"{method}, but X{where} ranges over [{values.min():.4g}, "
                f"{values.max():.4g}]. Scale it (e.g. MinMaxScaler(clip=True)) "
                "or use likelihood='gaussian'."
            )
        return
    ok = support.check(torch.as_tensor(np.asarray(values)))
    if not bool(ok.all()):
        bad = np.asarray(values)[~ok.numpy()]
        raise ValueError(
            f"likelihood={label!r} needs {describe_support(support)} in {method}, but "
            f"X{where} holds e.g. {bad.ravel()[:3].tolist()}."
        )


def describe_support(support):
    """A constraint in words ("non-negative integers", "[0, 1]", ...)."""
    bounds = _interval(support)
    if bounds is not None:
        return f"[{bounds[0]:g}, {bounds[1]:g}]"
    if isinstance(support, constraints._IntegerGreaterThan):
        if support.lower_bound == 0:
            return "non-negative integers"
        return f"integers >= {support.lower_bound}"
    return f"values in {support}"


def _registered_name(likelihood):
    """The name ``likelihood=`` knows a likelihood's class by, else the class's."""
    from skvae.likelihoods import LIKELIHOODS

    for name, cls in LIKELIHOODS.items():
        if type(likelihood) is cls:
            return name
    return type(likelihood).__name__


def _integer_bounds(support):
    """``(lower, upper)`` of an integer support (upper may be inf), else None."""
    if isinstance(support, constraints._IntegerGreaterThan):
        return support.lower_bound, np.inf
    if isinstance(support, constraints._IntegerInterval):
        return support.lower_bound, support.upper_bound
    return None


def _into(values, bounds, integer):
    """Values moved into ``bounds`` (rounded first when ``integer``), and how
    many moved; NaN (missing) stays."""
    lower, upper = bounds
    inside = np.clip(np.rint(values) if integer else values, lower, upper)
    moved = int(np.count_nonzero(inside != values) - np.isnan(values).sum())
    return inside, moved


def clip_to_support(X, likelihood):
    """X with each block's values moved into its likelihood's support (a copy
    where anything changes) and how many values moved.

    Interval supports (the Bernoulli's [0, 1]) are clipped; integer supports
    (counts) are rounded to the nearest integer and clipped to their bounds
    (a negative count becomes 0), so that a count likelihood scores
    probabilities of counts, never -inf or a density of 1.5. Other supports
    are left as they are.
    """
    n_out, copied = 0, False
    for block in likelihood.column_blocks(X.shape[1]):
        bounds = _interval(block.likelihood.support)
        integer = bounds is None
        if integer:
            bounds = _integer_bounds(block.likelihood.support)
            if bounds is None:
                continue
        columns = list(block.columns)
        if len(columns) == X.shape[1]:
            inside, moved = _into(_values(X), bounds, integer)
            if moved:
                if not copied:
                    X, copied = X.copy(), True
                _values(X)[...] = inside
            n_out += moved
            continue
        if sp.issparse(X):
            X = X.toarray()  # mixed blocks: rows of a table, not wide sparse data
        inside, moved = _into(X[:, columns], bounds, integer)
        if moved:
            if not copied:
                X, copied = np.array(X), True
            X[:, columns] = inside
        n_out += moved
    return X, n_out

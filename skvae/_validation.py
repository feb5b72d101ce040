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
    StrOptions,
)
from sklearn.utils.validation import (  # noqa: F401
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)
from torch.distributions import constraints

FLOAT_DTYPES = (np.float64, np.float32)
SPARSE_FORMATS = ("csr", "csc")


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


def check_support(X, likelihood, *, name, method):
    """Raise ``ValueError`` unless every value of X is in the likelihood's support.

    X is dense or sparse and is not modified; NaN (missing) is not checked.
    ``name`` is how the user named the likelihood, for the message.
    """
    support = likelihood.support
    if isinstance(support, constraints._Real):
        return
    values = _values(X)
    values = values[~np.isnan(values)] if np.isnan(values).any() else values
    if not values.size:
        return
    bounds = _interval(support)
    if bounds is not None:
        lower, upper = bounds
        if values.min() < lower or values.max() > upper:
            raise ValueError(
                f"likelihood={name!r} needs X in [{lower:g}, {upper:g}] in {method}, "
                f"but X ranges over [{values.min():.4g}, {values.max():.4g}]. "
                "Scale it (e.g. MinMaxScaler(clip=True)) or use "
                "likelihood='gaussian'."
            )
        return
    ok = support.check(torch.as_tensor(np.asarray(values)))
    if not bool(ok.all()):
        bad = np.asarray(values)[~ok.numpy()]
        raise ValueError(
            f"likelihood={name!r} needs values in {support} in {method}, but X "
            f"holds e.g. {bad.ravel()[:3].tolist()}."
        )


def clip_to_support(X, likelihood):
    """X clipped into an interval support (a copy where anything changes) and
    how many values moved; X unchanged for other supports."""
    bounds = _interval(likelihood.support)
    if bounds is None:
        return X, 0
    lower, upper = bounds
    values = _values(X)
    n_out = int(np.count_nonzero((values < lower) | (values > upper)))
    if not n_out:
        return X, 0
    X = X.copy()
    np.clip(_values(X), lower, upper, out=_values(X))
    return X, n_out

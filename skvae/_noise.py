"""Common random numbers of each row: deterministic Monte Carlo noise for scoring.

A VAE's scores are Monte Carlo estimates (the ELBO's E_q[log p(x|z)], the
importance-weighted bound). sklearn requires ``score_samples`` to be
deterministic and independent of the other rows in a call; a ranking of models
needs its error to shrink with the number of rows. Both hold when each row
draws its own noise from a seed derived from the row's content and the model's
seed (a counter-based generator, SplitMix64: Steele, Lea & Flood, "Fast
splittable pseudorandom number generators", OOPSLA 2014), here as a randomly
shifted scrambled Sobol' point set (randomized quasi-Monte Carlo: Owen 1997;
the shift of Cranley & Patterson 1976), so the S draws of a row cover the
normal distribution evenly.

The row's content is read after standardizing each feature by the training
statistics and rounding to 1/1024 of its scale, so that values equal up to
float rounding (e.g. after centring data offset by 1e7) give the same noise.
numpy and scipy only.
"""

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_RESOLUTION = 1024.0  # rows are read to 1/1024 of each feature's scale
_NAN_KEY = 2.0**62  # stands for a missing entry (NaN)
_LIMIT = 2.0**61


def _mix(z):
    """SplitMix64's output function, elementwise on uint64 (wrapping)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _stream(seed, n):
    """The first n outputs of SplitMix64 from ``seed``: uint64 of shape (n,)."""
    counter = np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN
    return _mix(np.uint64(seed) + counter)


def row_keys(X, loc, scale, seed):
    """A 64-bit key of each row's content, under ``seed``.

    Each value is standardized, rounded to 1/1024 of the feature's scale and
    multiplied by an odd 64-bit weight of its column; the row's sum (modulo
    2**64) goes through SplitMix64's mixer.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows, in data units (NaN allowed: a missing entry).
    loc, scale : ndarray of shape (n_features,)
        Training mean and (positive) scale of each feature, float64.
    seed : int
        The model's noise seed.

    Returns
    -------
    keys : ndarray of shape (n_samples,), dtype uint64
    """
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.asarray(X, dtype=np.float64) - loc
        q *= _RESOLUTION / scale
        np.rint(q, out=q)
        np.clip(q, -_LIMIT, _LIMIT, out=q)
    missing = np.isnan(q)
    if missing.any():
        q[missing] = _NAN_KEY
    ints = q.astype(np.int64).view(np.uint64)
    ints *= _stream(seed, X.shape[1]) | np.uint64(1)  # odd weights lose nothing
    return _mix(ints.sum(axis=1, dtype=np.uint64) ^ np.uint64(seed))


def _uniform_shifts(keys, n_dims):
    """Uniform(0, 1) values of shape (n_rows, n_dims) from each row's key."""
    counter = np.arange(1, n_dims + 1, dtype=np.uint64) * _GOLDEN
    bits = _mix(keys[:, None] + counter[None, :])
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


class RowNoise:
    """Standard normal noise of shape (S, n_rows, n_components) for given rows.

    Each row gets the scrambled Sobol' points (seeded by ``seed``) shifted
    modulo 1 by a uniform vector from its key, then mapped through the normal
    quantile function: S draws of N(0, I) for that row alone, unbiased, and
    spread evenly.

    Parameters
    ----------
    n_samples : int
        S, draws per row.
    n_components : int
        Latent dimensions.
    seed : int
        The model's noise seed (a non-negative int below 2**63).
    loc, scale : ndarray of shape (n_features,)
        Training statistics that standardize rows before they are keyed.
    """

    def __init__(self, n_samples, n_components, seed, loc, scale):
        self.n_samples = n_samples
        self.seed = int(seed)
        self.loc = np.asarray(loc, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        m = max(0, int(np.ceil(np.log2(n_samples))))
        sobol = qmc.Sobol(d=n_components, scramble=True, seed=self.seed % 2**32)
        self.points = sobol.random_base2(m)[:n_samples]  # (S, n_components)

    def keys(self, X):
        """The key of each row of X (dense, data units): uint64 of shape (n_rows,)."""
        return row_keys(X, self.loc, self.scale, self.seed)

    def __call__(self, X):
        """Noise for the rows of X, ndarray of shape (S, n_rows, n_components)."""
        return self.from_keys(self.keys(X))

    def from_keys(self, keys):
        """Noise for rows of the given keys, shape (S, n_rows, n_components)."""
        shifts = _uniform_shifts(keys, self.points.shape[1])
        u = np.mod(self.points[:, None, :] + shifts[None, :, :], 1.0)
        return ndtri(np.clip(u, 2.0**-54, 1 - 2.0**-53))

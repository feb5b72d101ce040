"""Network factory: the VAEModule an estimator's parameters and data call for.

Builds the default MLP encoder and decoder from the training data's
statistics, copies or instantiates user-supplied networks, and checks their
output shapes with a clear error. numpy in, torch modules out.
"""

import copy
import inspect
import threading
import warnings
from numbers import Integral
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.decomposition import FactorAnalysis
from sklearn.utils.sparsefuncs import mean_variance_axis

from skvae._modules import FILL_MAX_COST, Decoder, Encoder, VAEModule
from skvae._runtime import as_tensor, limited_blas_threads
from skvae.likelihoods import Gaussian

_GLOBAL_RNG = threading.Lock()


class DataStatistics(NamedTuple):
    """Per-feature statistics of the training rows (float64, NaN ignored).

    ``scale`` is the standard deviation, with constant, near-constant and
    entirely missing features given sqrt(1e-3) times the typical (median) one
    of the features the same likelihood models, so standardization never
    divides by ~0 (and a Gaussian decoder's variance starts small there); an
    entirely missing feature has mean 0. ``has_missing`` tells whether any
    entry was NaN.
    """

    mean: np.ndarray
    var: np.ndarray
    scale: np.ndarray
    has_missing: bool


def data_statistics(X, likelihood=None):
    """The :class:`DataStatistics` of X (dense or sparse; NaN: missing).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The training rows, data units.
    likelihood : skvae.likelihoods.Likelihood, default=None
        The model's likelihood: each feature's variance is floored at 1e-3
        times the median variance of the features of its block
        (``likelihood.column_blocks``), so that a Gaussian column's floor
        depends on the Gaussian columns only, never on the units of the
        one-hot or count columns beside it. None: one block of every feature.

    Returns
    -------
    DataStatistics
    """
    if sp.issparse(X):
        mean, var = mean_variance_axis(X, axis=0)
        has_missing = bool(np.isnan(X.data).any())
    else:
        has_missing = bool(np.isnan(X).any())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns
            mean = np.nanmean(X, axis=0, dtype=np.float64)
            var = np.nanvar(X, axis=0, dtype=np.float64)
    mean, var = np.nan_to_num(mean), np.nan_to_num(var)
    n_features = len(var)
    blocks = (
        [range(n_features)]
        if likelihood is None
        else [list(b.columns) for b in likelihood.column_blocks(n_features)]
    )
    floor = np.empty(n_features)
    for columns in blocks:
        floor[columns] = 1e-3 * _typical_variance(var[columns])
    scale = np.sqrt(np.maximum(var, floor))
    return DataStatistics(mean, var, scale, has_missing)


def _typical_variance(var):
    """The median variance (robust to a few columns in large units); the mean,
    or 1, where the median is 0."""
    typical = np.median(var)
    return typical if typical > 0 else (var.mean() if var.mean() > 0 else 1.0)


def build_module(
    X_head,
    stats,
    *,
    likelihood,
    n_components,
    hidden_layer_sizes,
    activation,
    offset=None,
    encoder=None,
    encoder_kwargs=None,
    decoder=None,
    decoder_kwargs=None,
    seed=0,
    X_init=None,
    init_rows=None,
    linear_path=True,
):
    """The VAEModule for data of ``stats``, its weights drawn under ``seed``.

    Parameters
    ----------
    X_head : ndarray or CSR matrix of shape (n_rows, n_features)
        A few training rows, in the model's units, run through custom networks
        to check their shapes.
    stats : DataStatistics
        Of the training rows, in data units; they place the networks (the
        encoder's standardization, the decoder's output map, the likelihood's
        parameters) and fill missing entries.
    likelihood : skvae.likelihoods.Likelihood
        A fresh likelihood, initialized here.
    n_components, hidden_layer_sizes, activation
        The default networks' shape (the decoder mirrors the hidden layers).
    offset : ndarray of shape (n_features,), default=None
        Subtracted from the data before the model sees it (the model's units).
    encoder, decoder : torch.nn.Module instance or class, default=None
        Custom networks (see VAETransformer); None builds the MLPs. The
        default encoder takes the missingness mask as extra inputs when the
        training data have missing entries.
    encoder_kwargs, decoder_kwargs : dict, default=None
    seed : int
    X_init : ndarray or CSR matrix of shape (n_samples, n_features), default=None
        The training rows (data units): with the default networks and a
        Gaussian likelihood, the module starts as the factor analysis of
        these rows (:func:`factor_analysis_start`).
    init_rows : ndarray of int, default=None
        The rows of ``X_init`` to start from (early stopping's training
        rows); None: all. Indices, so that X_init is copied only if the start
        is made.
    linear_path : bool, default=True
        The default networks' linear path (False: skvae 0.1's plain MLPs).

    Returns
    -------
    VAEModule

    Raises
    ------
    ValueError, TypeError
        When a custom network has the wrong output shapes or is not a module.
    """
    n_features = len(stats.mean)
    mean = stats.mean if offset is None else stats.mean - offset
    out_loc, out_scale = likelihood.initialize(
        torch.as_tensor(mean), torch.as_tensor(stats.scale**2)
    )
    n_outputs = likelihood.n_outputs(n_features)
    sizes = {"n_features": n_features, "n_components": n_components}
    # Network constructors draw from torch's global generator: seed it in a
    # fork of its state, one build at a time (fits may run in threads).
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = make_network(
            encoder,
            encoder_kwargs,
            sizes,
            "encoder",
            lambda: Encoder(
                n_features,
                n_components,
                hidden_layer_sizes,
                activation,
                input_loc=mean,
                input_scale=stats.scale,
                mask_inputs=stats.has_missing,
                linear_path=linear_path,
            ),
        )
        decoder = make_network(
            decoder,
            decoder_kwargs,
            sizes,
            "decoder",
            lambda: Decoder(
                n_components,
                n_outputs,
                hidden_layer_sizes[::-1],
                activation,
                out_loc=out_loc,
                out_scale=out_scale,
                linear_path=linear_path,
            ),
        )
        module = VAEModule(encoder, decoder, likelihood, fill_value=mean)
        check_network_shapes(module, X_head, n_components, n_outputs)
    if X_init is not None and _starts_as_factor_analysis(module, n_features):
        factor_analysis_start(module, X_init, stats, seed=seed, rows=init_rows)
    return module


def _starts_as_factor_analysis(module, n_features):
    """Default networks with linear paths, and Gaussian likelihoods only."""
    return (
        isinstance(module.encoder, Encoder)
        and isinstance(module.decoder, Decoder)
        and module.encoder.linear_path
        and module.decoder.linear_path
        and all(
            isinstance(block.likelihood, Gaussian)
            for block in module.likelihood.column_blocks(n_features)
        )
    )


# Factor analysis for the start is fitted on at most this many rows.
FA_START_ROWS = 10_000
# FactorAnalysis' SVD of the start: LAPACK's full SVD up to this many features
# (2-5x faster than the randomized one on tables of 4-30 columns, same
# fit), the randomized one above it (10x faster at 128 columns).
FA_LAPACK_MAX_FEATURES = 32
# EM iterations of the factor analysis of the observed entries
# (_factor_analysis_observed); it runs where n_features * n_factors^2 is at
# most _modules.FILL_MAX_COST (each iteration costs n_rows times that).
FA_OBSERVED_ITER = 10


def factor_analysis_start(module, X, stats, *, seed=0, rows=None):
    """Start a Gaussian VAE as the factor analysis of X: the ELBO is then FA's
    exact log-likelihood, and training can only move on from there.

    FactorAnalysis (scikit-learn's) on the standardized rows ``u = (x -
    mean) / scale`` (at most ``FA_START_ROWS`` rows; FactorAnalysis takes no
    NaN, so a missing entry enters at 0, its feature's mean; where the rows
    have missing entries, EM then refits the factor analysis to the observed
    entries alone, :func:`_factor_analysis_observed`, and the encoder fills
    missing inputs with their conditional means under a factor analysis of
    ``fill_components(p, k)`` factors fitted the same way,
    ``Encoder.set_conditional_fill``)
    gives loadings W, noise variances Psi and mean m. The loadings are rotated
    so that ``W^T Psi^-1 W = diag(lam)`` (an eigendecomposition; FA is
    invariant to rotations of z), which makes its posterior diagonal, as
    q(z|x) is: ``Cov[z|u] = diag(1 / (1 + lam))``, ``E[z|u] = Cov W^T Psi^-1
    (u - m)`` (Bishop 2006, section 12.2.4). The decoder's linear path is
    ``W z + m``, the encoder's ``z_loc = E[z|u]`` and ``z_logvar =
    log Cov``, the likelihood's variances ``Psi`` (in data units, above
    their floors); the MLP paths add nothing yet.

    Parameters
    ----------
    module : VAEModule
        With the default :class:`Encoder` and :class:`Decoder` (linear
        paths) and Gaussian likelihoods.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Training rows, data units.
    stats : DataStatistics
        Their statistics (the encoder's standardization).
    seed : int
        For the row subsample and FactorAnalysis' randomized SVD (used above
        ``FA_LAPACK_MAX_FEATURES`` features).
    rows : ndarray of int, default=None
        Sorted indices of the rows of X to use (None: all).
    """
    p = X.shape[1]
    k = module.encoder.linear.out_features
    rng = np.random.RandomState(seed)
    index = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
    n = len(index)
    if n > FA_START_ROWS:
        index = index[np.sort(rng.choice(n, FA_START_ROWS, False))]
    sample = X if len(index) == X.shape[0] else X[index]
    if sp.issparse(sample):
        sample = sample.toarray()
    U = _standardized(sample, stats)  # NaN where missing
    complete = not np.isnan(U).any()
    floor = _variance_floors(module.likelihood, p) / stats.scale**2
    # BLAS gets the threads a fit has (one by default; see blas_thread_limit):
    # an oversubscribed OpenBLAS made this fit 20x slower on a busy machine.
    with limited_blas_threads():
        U_rows, tol = _moment_rows(np.nan_to_num(U), FactorAnalysis().tol)

        def fit(n_factors):
            return _factor_analysis(U, U_rows, tol, n_factors, floor, seed, complete)

        W, psi, mean = fit(k)
        fill = module.encoder.mask_inputs and not complete
        if fill:
            k_fill = module.encoder.fill_loadings.shape[1]
            fill_fa = (W, psi, mean) if k_fill == k else fit(k_fill)
    M = W.T @ (W / psi[:, None])
    lam, R = np.linalg.eigh(0.5 * (M + M.T))
    W = W @ R
    post_var = 1.0 / (1.0 + np.maximum(lam, 0.0))
    A = post_var[:, None] * (W / psi[:, None]).T
    encoder, decoder = module.encoder, module.decoder
    with torch.no_grad():
        decoder.linear.weight.copy_(torch.as_tensor(W))
        decoder.linear.bias.copy_(torch.as_tensor(mean))
        encoder.linear.weight.copy_(torch.as_tensor(A))
        encoder.linear.bias.copy_(torch.as_tensor(-A @ mean))
        encoder.logvar_bias.copy_(torch.as_tensor(np.log(post_var)))
    if fill:
        encoder.set_conditional_fill(*fill_fa)
    variance = torch.as_tensor(psi * stats.scale**2)
    for block in module.likelihood.column_blocks(p):
        block.likelihood.start_variance(variance[list(block.columns)])


def _factor_analysis(U, U_rows, tol, n_factors, floor, seed, complete):
    """``(W, psi, mean)`` of a factor analysis with ``n_factors`` factors of the
    standardized rows U (NaN: missing), W of shape (p, n_factors).

    FactorAnalysis on ``U_rows`` (the moment rows of the mean-filled U,
    :func:`_moment_rows`, with their ``tol``); where U has missing entries
    (``complete`` False), refitted to the observed entries by
    :func:`_factor_analysis_observed` when ``p n_factors^2`` is at most
    ``FILL_MAX_COST``.
    """
    p = U.shape[1]
    svd = "lapack" if p <= FA_LAPACK_MAX_FEATURES else "randomized"
    fa = FactorAnalysis(min(n_factors, p), tol=tol, svd_method=svd, random_state=seed)
    fa.fit(U_rows)
    W = np.zeros((p, n_factors))
    W[:, : fa.components_.shape[0]] = fa.components_.T
    psi = np.maximum(fa.noise_variance_, floor * 1.001)
    mean = fa.mean_
    if not complete and p * n_factors**2 <= FILL_MAX_COST:
        W, psi, mean = _factor_analysis_observed(U, W, psi, mean, floor)
    return W, psi, mean


def _standardized(X, stats):
    """``(X - mean) / scale`` in float64 (NaN stays NaN)."""
    return (np.asarray(X, dtype=np.float64) - stats.mean) / stats.scale


def _factor_analysis_observed(U, W, psi, mean, floor, n_iter=FA_OBSERVED_ITER):
    """Factor analysis of the observed entries of U (NaN: missing), by EM.

    The EM of factor analysis with missing data (Ghahramani & Jordan 1994;
    Little & Rubin 2002, section 11.3), started from ``(W, psi, mean)``,
    the factor analysis of the mean-filled rows. E-step, per row with
    observed entries o: ``M = I + W_o^T Psi_o^-1 W_o``, ``E[z] = M^-1 W_o^T
    Psi_o^-1 (u_o - m_o)``, ``Cov[z] = M^-1``. M-step, per feature j, on the
    rows that observe it: ``[w_j, m_j]`` regresses u_j on ``[E[z], 1]``
    (with ``Cov[z]`` added to the normal equations) and ``psi_j`` is the
    expected squared residual, floored at ``floor``. Each iteration is a few
    matrix products of size ``n p k^2``. A mean-filled row has its missing
    entries at the mean, which shrinks every covariance toward 0 by the
    share of missing entries; this fits the observed entries instead.

    At most ``n_iter`` iterations: on the imputation benchmark's small
    tables (wine: 178 rows, k = 10 of 13 features) more iterations fitted
    the observed entries closer and imputed worse.

    Returns
    -------
    W : ndarray of shape (p, k)
    psi : ndarray of shape (p,)
    mean : ndarray of shape (p,)
    """
    observed = ~np.isnan(U)
    seen = observed.astype(np.float64)
    U0 = np.where(observed, U, 0.0)
    n, p = U.shape
    k = W.shape[1]
    n_observed = np.maximum(seen.sum(axis=0), 1.0)
    ridge = 1e-6 * np.eye(k + 1)
    for _ in range(n_iter):
        precision = seen / psi  # Psi_o^-1 of each row, 0 where missing
        outer = (W[:, :, None] * W[:, None, :]).reshape(p, k * k)
        M = np.eye(k) + (precision @ outer).reshape(n, k, k)
        cov = np.linalg.inv(M)
        ez = np.einsum("nkl,nl->nk", cov, ((U0 - mean) * precision) @ W)
        # E[z~ z~^T] with z~ = [z, 1], per row: (n, k+1, k+1)
        zt = np.hstack([ez, np.ones((n, 1))])
        second = zt[:, :, None] * zt[:, None, :]
        second[:, :k, :k] += cov
        A = (seen.T @ second.reshape(n, -1)).reshape(p, k + 1, k + 1) + ridge
        b = (seen * U0).T @ zt  # (p, k+1)
        coef = np.linalg.solve(A, b[:, :, None])[:, :, 0]
        residual = (
            (seen * U0**2).sum(axis=0)
            - 2 * np.einsum("pi,pi->p", coef, b)
            + np.einsum("pi,pij,pj->p", coef, A, coef)
        )
        W, mean = coef[:, :k], coef[:, k]
        psi = np.maximum(residual / n_observed, floor * 1.001)
    return W, psi, mean


def _moment_rows(U, tol):
    """``2 p`` rows with the mean and covariance of U, and FactorAnalysis'
    ``tol`` for them; U itself when it has no more rows.

    Factor analysis fits a Gaussian, whose likelihood depends on the rows
    only through their mean and covariance (its sufficient statistics;
    Bishop 2006, section 12.2.4), and scikit-learn's FactorAnalysis reads
    them from an SVD of the centred rows at every EM iteration (Barber 2012,
    algorithm 21.1). The rows ``m +- sqrt(p) s_j``, with ``s_j`` the rows of
    the symmetric square root of the covariance ``C = (U - m)^T (U - m) / n``,
    have mean m and covariance C, so FactorAnalysis finds the same loadings
    and noise variances from ``2 p`` rows as from the n of U, each iteration
    an SVD of ``2 p`` rows instead of n (breast_cancer: half the time).
    Its log-likelihood, and so its stopping rule, scales with the number of
    rows: the tolerance is scaled by ``2 p / n`` to stop at the same
    iteration.
    """
    n, p = U.shape
    if n <= 2 * p:
        return U, tol
    mean = U.mean(axis=0)
    centred = U - mean
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred / n)
    root = (eigvecs * np.sqrt(np.maximum(eigvals, 0.0))) @ eigvecs.T
    rows = np.sqrt(p) * root
    return np.vstack([mean + rows, mean - rows]), tol * 2 * p / n


def _variance_floors(likelihood, n_features):
    """Each feature's variance floor (data units) of Gaussian blocks."""
    floors = np.zeros(n_features)
    for block in likelihood.column_blocks(n_features):
        floors[list(block.columns)] = block.likelihood.x_logvar_floor.exp().numpy()
    return floors


def make_network(spec, kwargs, sizes, name, default):
    """Build the default network, copy a module instance, or instantiate a class."""
    if spec is None:
        return default()
    if isinstance(spec, torch.nn.Module):
        if kwargs:
            raise ValueError(
                f"{name}_kwargs only apply when {name} is a class, but {name} is "
                f"an instance of {type(spec).__name__}."
            )
        return copy.deepcopy(spec)
    try:
        params = inspect.signature(spec).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in sizes.items() if takes_any or k in params}
    network = spec(**given, **(kwargs or {}))
    if not isinstance(network, torch.nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module or a class building one; calling "
            f"it gave a {type(network).__name__}."
        )
    return network


def check_network_shapes(module, X_head, n_components, n_outputs):
    """Run two rows through the networks; ValueError naming any shape mismatch."""
    if sp.issparse(X_head):
        X_head = X_head.toarray()
    x, observed = module.fill_missing(as_tensor(X_head, np.float32))
    encoder, decoder = module.encoder, module.decoder
    # In eval mode, so that dropout draws nothing and batch norm keeps its
    # running statistics; each submodule's own mode is put back after.
    modes = [(m, m.training) for net in (encoder, decoder) for m in net.modules()]
    encoder.eval()
    decoder.eval()
    try:
        with torch.no_grad():
            codes = _checked_encoding(module, x, observed, n_components)
            _check_decoding(decoder, codes, n_outputs)
    finally:
        for submodule, training in modes:
            submodule.training = training


def _shape_of(value):
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    return type(value).__name__


def _checked_encoding(module, x, observed, k):
    n = x.shape[0]
    try:
        encoded = module._encode(x, observed)
    except Exception as exc:
        raise ValueError(
            f"The encoder failed on a batch of shape {tuple(x.shape)}: {exc}"
        ) from exc
    if not (
        isinstance(encoded, (tuple, list))
        and len(encoded) == 2
        and all(isinstance(t, torch.Tensor) and t.shape == (n, k) for t in encoded)
    ):
        if isinstance(encoded, (tuple, list)):
            got = [_shape_of(t) for t in encoded]
        else:
            got = type(encoded).__name__
        raise ValueError(
            "The encoder must return (z_loc, z_logvar), each of shape (batch, "
            f"n_components) = ({n}, {k}); it returned {got}."
        )
    return encoded[0]


def _check_decoding(decoder, codes, width):
    n, k = codes.shape
    try:
        decoded = decoder(codes)
    except Exception as exc:
        raise ValueError(
            f"The decoder failed on codes of shape ({n}, {k}): {exc}"
        ) from exc
    if not isinstance(decoded, torch.Tensor) or decoded.shape != (n, width):
        raise ValueError(
            "The decoder must return one tensor of shape (batch, n_features) = "
            f"({n}, {width}); it returned {_shape_of(decoded)}."
        )


def hidden_layer_sizes(value):
    """``hidden_layer_sizes`` as a tuple of ints (an int is one layer), as MLP."""
    sizes = np.atleast_1d(value)
    if sizes.ndim != 1 or not all(isinstance(h, Integral) and h > 0 for h in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a sequence of "
            f"positive ints, got {value!r}."
        )
    return tuple(int(h) for h in sizes)


def architecture(vae):
    """The parameters of an estimator that fix its networks' shapes (and floors)."""
    likelihood = vae.likelihood
    if not isinstance(likelihood, str):
        likelihood = repr(likelihood)
    return {
        "n_components": vae.n_components,
        "likelihood": likelihood,
        "hidden_layer_sizes": vae._hidden_layer_sizes(),
        "activation": vae.activation,
        # last, so that a model pickled before it existed compares its four
        "near_constant_ratio": vae.near_constant_ratio,
    }


def check_architecture_unchanged(vae, method):
    """ValueError if set_params changed the networks' shape since they were built."""
    changed = [
        f"{name} from {before!r} to {now!r}"
        for (name, before), now in zip(
            vae._built_architecture.items(), architecture(vae).values()
        )
        if before != now
    ]
    if changed:
        how = "partial_fit" if method == "partial_fit" else "fit with warm_start=True"
        raise ValueError(
            f"{how} continues training the fitted networks, but "
            f"{', '.join(changed)} since they were built. Fit anew (warm_start="
            "False) to change the architecture."
        )

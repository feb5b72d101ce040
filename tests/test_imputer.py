"""VAEImputer: sklearn's imputer contract, the MIWAE imputation, bad input."""

import copy
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from shared import EXTRA_TRANSFORMER_CHECKS
from sklearn.base import clone
from sklearn.impute import MissingIndicator
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAEImputer, VAETransformer
from skvae._imputer import _OWN_PARAMS


def _imputer(**params):
    small = {
        "n_components": 2,
        "max_iter": 2,
        "hidden_layer_sizes": (8,),
        "n_iw_samples": 4,
        "random_state": 0,
    }
    return VAEImputer(**{**small, **params})


@parametrize_with_checks(
    [
        _imputer(),
        _imputer(sample_posterior=True, add_indicator=True, missing_values=-1.0),
        _imputer(missing_mechanism="self_masking"),
    ]
)
def test_sklearn_compatible_imputer(estimator, check):
    check(estimator)


@pytest.mark.parametrize("check", EXTRA_TRANSFORMER_CHECKS, ids=lambda c: c.__name__)
def test_extra_sklearn_checks(check):
    check(VAEImputer.__name__, _imputer(add_indicator=True))


def test_parameters_mirror_vae_transformer():
    """Every VAETransformer parameter is the imputer's, with the same name."""
    own = set(VAEImputer().get_params())
    assert own == set(VAETransformer().get_params()) | set(_OWN_PARAMS)
    assert VAEImputer._parameter_constraints.keys() == own


@pytest.fixture(scope="module")
def low_rank():
    """150 x 6 rows near a 2-D plane, offset far from 0; a quarter missing."""
    rng = np.random.RandomState(0)
    X = rng.randn(150, 2) @ rng.randn(2, 6) + 0.1 * rng.randn(150, 6) + 1e4
    X_miss = X.copy()
    X_miss[rng.rand(*X.shape) < 0.25] = np.nan
    X_miss[3] = np.nan  # nothing observed
    return X, X_miss


def _fit(X, **params):
    defaults = {
        "n_components": 2,
        "max_iter": 60,
        "learning_rate": 3e-3,
        "hidden_layer_sizes": (32,),
        "n_iw_samples": 50,
        "early_stopping": False,
        "random_state": 0,
    }
    return VAEImputer(**{**defaults, **params}).fit(X)


@pytest.fixture(scope="module")
def fitted(low_rank):
    return _fit(low_rank[1])


def test_imputes_better_than_the_mean(low_rank, fitted):
    X, X_miss = low_rank
    X_out = fitted.transform(X_miss)
    hidden = np.isnan(X_miss)
    hidden[3] = False  # the empty row can only get the mean
    mse = np.mean((X_out - X)[hidden] ** 2)
    mse_mean = np.mean((np.nanmean(X_miss, axis=0) - X)[hidden] ** 2)
    assert mse < 0.35 * mse_mean
    assert not np.isnan(X_out).any()
    # The row with nothing observed gets the model's marginal mean.
    assert_allclose(X_out[3], np.nanmean(X_miss, axis=0), atol=0.5 * X.std(0).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_observed_entries_are_returned_bit_for_bit(low_rank, dtype):
    X_miss = low_rank[1].astype(dtype)
    imp = _fit(X_miss, max_iter=3)
    X_out = imp.transform(X_miss)
    assert X_out.dtype == dtype
    observed = ~np.isnan(X_miss)
    # Bits, not values: the model sees the data centred, and x - m + m != x.
    assert_array_equal(X_out[observed].view(np.uint8), X_miss[observed].view(np.uint8))


def test_transform_is_deterministic_and_row_independent(low_rank, fitted):
    X_miss = low_rank[1]
    X_out = fitted.transform(X_miss)
    assert_array_equal(fitted.transform(X_miss), X_out)
    # Another batch, the same draws: equal to rounding (a row's place in a
    # batch can change the last bits of BLAS's products, not the draws).
    assert_allclose(fitted.transform(X_miss[5:9]), X_out[5:9], rtol=1e-12)
    assert_allclose(fitted.transform(X_miss[::-1]), X_out[::-1], rtol=1e-12)


def test_imputation_is_the_self_normalized_importance_sampling_estimate(fitted):
    """VAEModule.impute against MIWAE eq. 9 written out from the model's parts,
    with its two-part proposal: the first S - S // 2 draws from q_phi(z | x),
    the rest from the Laplace approximation, each weighted by their mixture."""
    module = fitted.vae_.net_.module_.double().eval()
    torch.manual_seed(0)
    x = torch.randn(5, 6, dtype=torch.float64)
    x[0, :3] = torch.nan
    x[1, 4] = torch.nan
    x[2, :] = torch.nan
    eps = torch.randn(40, 5, 2, dtype=torch.float64)
    with torch.no_grad():
        got = module.impute(x, eps)
        x_filled, observed = module.fill_missing(x)
        z_loc, z_logvar = module.encode(x)
        lap_mean, chol = module.laplace_posterior(x_filled, observed, z_loc)
        precision = chol @ chol.transpose(-1, -2)
        lap_cov = torch.linalg.inv(precision)
        z_q = z_loc + torch.exp(0.5 * z_logvar) * eps[:20]
        z_lap = (
            lap_mean + (torch.linalg.cholesky(lap_cov) @ eps[20:, ..., None])[..., 0]
        )
        z = torch.cat([z_q, z_lap])
        normal = torch.distributions
        log_q = normal.Normal(z_loc, torch.exp(0.5 * z_logvar)).log_prob(z).sum(-1)
        log_lap = normal.MultivariateNormal(lap_mean, lap_cov).log_prob(z)
        log_mix = torch.logaddexp(log_q, log_lap) + np.log(0.5)
        log_prior = normal.Normal(0.0, 1.0).log_prob(z).sum(-1)
        decoded = module.decode(z)
        log_px = module.likelihood.log_prob(x_filled, decoded, observed)
        log_w = log_px + log_prior - log_mix  # (S, batch)
        means = module.likelihood.mean(decoded)
    w = torch.exp(log_w - log_w.max(0).values)
    expected = (w[..., None] * means).sum(0) / w.sum(0)[:, None]
    # the Laplace draws are another square root of the same covariance:
    # not the same codes, so compare the estimates, not the draws
    missing = torch.isnan(x)
    rows = [0, 1]
    torch.testing.assert_close(
        got[rows][missing[rows]], expected[rows][missing[rows]], atol=0.05, rtol=0
    )
    assert torch.equal(got[~missing], x[~missing])
    # Nothing observed: the Laplace part is the prior, the weights equal.
    assert torch.equal(lap_mean[2], torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(precision[2], torch.eye(2, dtype=torch.float64))
    fitted.vae_.net_.module_.float()


def test_laplace_proposal_is_the_exact_posterior_of_a_linear_decoder(low_rank, fitted):
    """With the MLP paths at zero the decoder is W z + b (factor analysis, as
    the model starts), and one Gauss-Newton step gives the exact posterior of
    z given the observed entries: N(P^-1 W_o^T Psi_o^-1 (x_o - b_o), P^-1),
    P = I + W_o^T Psi_o^-1 W_o (Bishop 2006, section 12.2.4)."""
    module = copy.deepcopy(fitted.vae_.net_.module_).double().eval()
    with torch.no_grad():
        module.decoder.body[-1].weight.zero_()
        module.decoder.body[-1].bias.zero_()
    decoder = module.decoder
    row = low_rank[0][:1].copy()
    row[0, [1, 3]] = np.nan
    x = torch.as_tensor(row - fitted.vae_._x_offset)  # the model's centred units
    x_filled, observed = module.fill_missing(x)
    z_loc = module.encode(x)[0]
    with torch.no_grad():
        mean, chol = module.laplace_posterior(x_filled, observed, z_loc)
        # the decoder's map, read off two points: f(z) = A z + c
        c = decoder(torch.zeros(1, 2, dtype=torch.float64))[0]
        A = torch.stack(
            [
                decoder(torch.eye(2, dtype=torch.float64)[j : j + 1])[0] - c
                for j in range(2)
            ],
            1,
        )
        psi_inv = module.likelihood.observation_precision()
    o = observed[0]
    W, b, prec = A[o], c[o], psi_inv[o]
    P = torch.eye(2, dtype=torch.float64) + W.T @ (prec[:, None] * W)
    m = torch.linalg.solve(P, W.T @ (prec * (x[0, o] - b)))
    # the Jacobian is a forward difference: exact for a linear map, to rounding
    torch.testing.assert_close(mean[0], m, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(chol[0] @ chol[0].T, P, rtol=1e-6, atol=1e-6)


def test_laplace_proposal_needs_a_gaussian_likelihood(low_rank):
    """Other likelihoods keep the encoder's proposals alone (no Laplace part)."""
    X = np.clip(low_rank[0] - low_rank[0].mean(0), -1, 1) * 0.5 + 0.5
    X_miss = np.where(np.isnan(low_rank[1]), np.nan, X)
    imp = _fit(X_miss, likelihood="continuous_bernoulli", max_iter=2)
    module = imp.vae_.net_.module_
    x_filled, observed = module.fill_missing(
        torch.as_tensor(X_miss[:4], dtype=torch.float32)
    )
    z_loc = module.encode(torch.as_tensor(X_miss[:4], dtype=torch.float32))[0]
    assert module.laplace_posterior(x_filled, observed, z_loc) is None
    assert not np.isnan(imp.transform(X_miss)).any()


def test_sample_imputation_resamples_then_draws(fitted):
    """With one proposal, SIR is a draw from p(x | z_1) with the row's generator."""
    module = fitted.vae_.net_.module_
    x = torch.tensor([[np.nan, 0.5, np.nan, 1.0, -1.0, np.nan]])
    eps = torch.randn(1, 1, 2)
    seeds = torch.tensor([1234])
    with torch.no_grad():
        got = module.sample_imputation(x, eps, seeds)
        z_loc, z_logvar = module.encode(x)
        decoded = module.decode(z_loc + torch.exp(0.5 * z_logvar) * eps[0])
        generator = torch.Generator().manual_seed(1234)
        torch.multinomial(torch.ones(1), 1, generator=generator)
        expected = module.likelihood.sample(decoded, generator)
    missing = torch.isnan(x)
    torch.testing.assert_close(got[missing], expected[missing])
    assert torch.equal(got[~missing], x[~missing])


def test_sample_posterior_draws_around_the_mean(low_rank, fitted):
    X, X_miss = low_rank
    hidden = np.isnan(X_miss)
    mean = fitted.transform(X_miss)
    drawer = clone(fitted).set_params(sample_posterior=True)
    drawer.fit(X_miss)
    draws = drawer.transform(X_miss)
    assert_array_equal(draws[~hidden], X_miss[~hidden])
    assert_allclose(drawer.transform(X_miss[10:20]), draws[10:20], rtol=1e-12)
    spread = draws[hidden] - mean[hidden]
    # Draws scatter around the conditional mean by about the model's noise.
    assert 0 < np.std(spread) < 3 * X.std(0).max()
    assert abs(np.mean(spread)) < 0.2 * X.std(0).max()
    # Another seed, another imputation (multiple imputation).
    other = clone(drawer).set_params(random_state=1).fit(X_miss).transform(X_miss)
    assert not np.array_equal(other[hidden], draws[hidden])


def test_numeric_missing_values_marker(low_rank, fitted):
    X_miss = low_rank[1]
    X_marked = np.where(np.isnan(X_miss), -1.0, X_miss)
    X_copy = X_marked.copy()
    marked = clone(fitted).set_params(missing_values=-1.0).fit(X_marked)
    assert_array_equal(marked.transform(X_marked), fitted.transform(X_miss))
    assert_array_equal(X_marked, X_copy)  # never modified in place
    with pytest.raises(ValueError, match="contains NaN, but missing_values=-1.0"):
        marked.transform(X_miss)
    with pytest.raises(ValueError, match="contains NaN, but missing_values=-1.0"):
        clone(marked).fit(X_miss)
    with pytest.raises(ValueError, match="infinity"):
        marked.transform(np.where(np.isnan(X_miss), np.inf, X_miss))


@pytest.mark.parametrize(
    "make_bad, error, match",
    [
        (lambda X: np.where(np.isnan(X), np.inf, X), ValueError, "infinity"),
        (lambda X: np.full(X.shape, "a", dtype=object), ValueError, "convert"),
        (lambda X: sp.csr_matrix(np.nan_to_num(X)), TypeError, "[Ss]parse"),
        (lambda X: X[:, :3], ValueError, "features"),
    ],
    ids=["inf", "strings", "sparse", "width"],
)
def test_bad_input_raises_and_changes_nothing(low_rank, fitted, make_bad, error, match):
    X_bad = make_bad(low_rank[1][:20])
    X_copy = X_bad.copy()
    state = pickle.dumps(fitted)
    with pytest.raises(error, match=match):
        fitted.transform(X_bad)
    if X_bad.shape[1] == 6:
        with pytest.raises(error, match=match):
            fitted.fit(X_bad)
    assert pickle.dumps(fitted) == state
    if sp.issparse(X_bad):
        assert_array_equal(X_bad.toarray(), X_copy.toarray())
    else:
        assert_array_equal(X_bad, X_copy)


@pytest.mark.parametrize("keep", [False, True])
def test_entirely_missing_feature(low_rank, keep):
    X_miss = low_rank[1].copy()
    X_miss[:, 2] = np.nan
    imp = _fit(X_miss, max_iter=3, keep_empty_features=keep, add_indicator=True)
    X_out = imp.transform(X_miss)
    kept = [0, 1, 2, 3, 4, 5] if keep else [0, 1, 3, 4, 5]
    names = imp.get_feature_names_out()
    assert list(names[: len(kept)]) == [f"x{j}" for j in kept]
    indicator = MissingIndicator().fit(X_miss)
    assert_array_equal(X_out[:, len(kept) :], indicator.transform(X_miss))
    assert list(names[len(kept) :]) == list(indicator.get_feature_names_out())
    assert imp.vae_.n_features_in_ == 5  # the VAE never sees the empty feature
    if keep:
        assert_array_equal(X_out[:, 2], 0.0)
        # observed at transform: kept as it is
        X_new = X_miss[:4].copy()
        X_new[:, 2] = 7.0
        assert_array_equal(imp.transform(X_new)[:, 2], 7.0)
    assert not np.isnan(X_out).any()


def test_pandas_na_and_set_output(low_rank, fitted):
    pd = pytest.importorskip("pandas")
    X_miss = low_rank[1]
    df = pd.DataFrame(X_miss, columns=list("abcdef")).astype("Float64")
    assert df.isna().to_numpy().sum() == np.isnan(X_miss).sum()
    imp = clone(fitted).set_output(transform="pandas").fit(df)
    out = imp.transform(df)
    assert list(out.columns) == list("abcdef")
    assert_array_equal(out.to_numpy(), fitted.transform(X_miss))


def test_a_column_it_cannot_model_is_named(low_rank):
    """A category column with categorical_features=None, or a date, by name."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(low_rank[1], columns=list("abcdef"))
    df["kind"] = pd.Categorical(["u", "v"] * (len(df) // 2))
    with pytest.raises(ValueError, match="'kind' has dtype category.*categorical_f"):
        _imputer(categorical_features=None).fit(df)
    df = df.drop(columns="kind")
    df["day"] = pd.Timestamp("2020-01-01")
    with pytest.raises(ValueError, match="'day' has dtype datetime"):
        _imputer().fit(df)


def test_grid_search_reaches_vae_hyperparameters(low_rank):
    X, X_miss = low_rank
    y = X[:, 0] - X[:, 1]
    pipe = make_pipeline(_imputer(max_iter=3, early_stopping=False), Ridge())
    grid = GridSearchCV(pipe, {"vaeimputer__n_components": [1, 2]}, cv=2)
    grid.fit(X_miss, y)
    best = grid.best_estimator_[0]
    assert best.vae_.n_components == grid.best_params_["vaeimputer__n_components"]


def test_pickle_round_trip_and_seed(low_rank, fitted):
    X_miss = low_rank[1]
    again = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(again.transform(X_miss), fitted.transform(X_miss))
    refit = clone(fitted).fit(X_miss)
    assert_array_equal(refit.transform(X_miss), fitted.transform(X_miss))


def test_warm_start_continues_the_same_vae(low_rank):
    X_miss = low_rank[1]
    imp = _fit(X_miss, max_iter=3, warm_start=True)
    vae = imp.vae_
    imp.fit(X_miss)
    assert imp.vae_ is vae and imp.n_iter_ == 6
    X_other = X_miss.copy()
    X_other[:, 0] = np.nan
    with pytest.raises(ValueError, match="entirely missing"):
        imp.fit(X_other)


def test_complete_training_data_imputes_new_holes(low_rank):
    """Fitted on whole rows (no mask inputs), it still fills rows with holes."""
    X, X_miss = low_rank
    imp = _fit(X)
    X_out = imp.transform(X_miss)
    hidden = np.isnan(X_miss)
    hidden[3] = False
    mse = np.mean((X_out - X)[hidden] ** 2)
    assert mse < 0.5 * np.mean((X.mean(0) - X)[hidden] ** 2)

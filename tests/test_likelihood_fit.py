"""End to end: VAETransformer fits, scores and samples with each new likelihood
and with per-column likelihoods on a mixed table (small data, few epochs)."""

import pickle

import numpy as np
import pytest
import torch
from shared import FAST, fast
from torch.distributions import constraints

from skvae import VAETransformer
from skvae.likelihoods import (
    Categorical,
    ColumnLikelihoods,
    ContinuousBernoulli,
    Gaussian,
    NegativeBinomial,
    Poisson,
    StudentT,
)


@pytest.fixture
def X_counts():
    """40 x 6 overdispersed counts from a 2-factor log-linear model."""
    rng = np.random.RandomState(0)
    log_rate = rng.randn(40, 2) @ rng.randn(2, 6) * 0.5 + 1.0
    rate = np.exp(log_rate) * rng.gamma(2.0, 0.5, size=(40, 6))
    return rng.poisson(rate).astype(np.float64)


@pytest.fixture
def X_mixed(X_gauss):
    """2 Gaussian columns, 1 count column, a 3-category one-hot group (40 x 6)."""
    rng = np.random.RandomState(1)
    counts = rng.poisson(np.exp(0.5 * X_gauss[:, [2]]))
    category = np.argmax(X_gauss[:, 3:6] + rng.gumbel(size=(40, 3)), axis=1)
    return np.hstack([X_gauss[:, :2], counts, np.eye(3)[category]])


def mixed_likelihood():
    return ColumnLikelihoods(
        [(Gaussian(), [0, 1]), (Poisson(), [2]), (Categorical(), [3, 4, 5])]
    )


def check_fits_scores_and_samples(likelihood, X, support):
    vae = VAETransformer(likelihood=likelihood, **fast(max_iter=10)).fit(X)
    scores = vae.score_samples(X)
    assert scores.shape == (X.shape[0],) and np.all(np.isfinite(scores))
    iw = vae.score_samples_iw(X, n_importance_samples=20)
    assert np.all(np.isfinite(iw))
    draws = vae.sample(30, random_state=0, decoder_noise=True)
    assert draws.shape == (30, X.shape[1])
    assert support.check(torch.as_tensor(draws)).all()
    means = vae.inverse_transform(vae.transform(X))
    assert np.all(np.isfinite(means))
    return vae, means


@pytest.mark.parametrize("likelihood", [Poisson(), NegativeBinomial()])
def test_count_likelihoods_fit_score_and_sample(likelihood, X_counts):
    vae, means = check_fits_scores_and_samples(
        likelihood, X_counts, constraints.nonnegative_integer
    )
    assert np.all(means > 0)


def test_continuous_bernoulli_fits_grey_levels(X_unit):
    vae, means = check_fits_scores_and_samples(
        ContinuousBernoulli(), X_unit, constraints.unit_interval
    )
    assert np.all((means > 0) & (means < 1))
    # a density on [0, 1]: by name too, and the same model
    by_name = VAETransformer(likelihood="continuous_bernoulli", **FAST).fit(X_unit)
    by_instance = VAETransformer(likelihood=ContinuousBernoulli(), **FAST).fit(X_unit)
    np.testing.assert_allclose(
        by_name.score_samples(X_unit), by_instance.score_samples(X_unit)
    )


def test_student_t_fits_heavy_tails(X_gauss):
    heavy = X_gauss + 0.3 * np.random.RandomState(2).standard_t(1.5, X_gauss.shape)
    vae, _ = check_fits_scores_and_samples(StudentT(), heavy, constraints.real)
    df = vae.net_.module_.likelihood.df()
    assert torch.all(df > 1) and df.shape == (6,)


def test_per_column_likelihoods_fit_a_mixed_table(X_mixed):
    vae = VAETransformer(likelihood=mixed_likelihood(), **fast(max_iter=10))
    vae.fit(X_mixed)
    scores = vae.score_samples(X_mixed)
    assert np.all(np.isfinite(scores))
    draws = vae.sample(25, random_state=0, decoder_noise=True)
    assert constraints.nonnegative_integer.check(torch.as_tensor(draws[:, 2])).all()
    assert constraints.one_hot.check(torch.as_tensor(draws[:, 3:])).all()
    means = vae.sample(25, random_state=0)
    np.testing.assert_allclose(means[:, 3:].sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(means[:, 2] > 0)
    # its blocks' parameters trained with the networks
    module = vae.net_.module_
    assert {"likelihood.blocks.0.x_logvar_raw"} <= set(module.state_dict())
    clone = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(clone.score_samples(X_mixed), scores)


def test_per_column_likelihoods_weights_file_round_trip(X_mixed, tmp_path):
    vae = VAETransformer(likelihood=mixed_likelihood(), **FAST).fit(X_mixed)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(
        tmp_path / "vae.pt", likelihood=mixed_likelihood()
    )
    np.testing.assert_array_equal(
        loaded.score_samples(X_mixed), vae.score_samples(X_mixed)
    )


def test_count_likelihood_by_name_refuses_non_integers(X_counts):
    X = X_counts.copy()
    X[3, 1] = 1.5
    with pytest.raises(ValueError):
        VAETransformer(likelihood="poisson", **FAST).fit(X)


def test_missing_entries_with_the_new_likelihoods(X_counts, X_mixed):
    rng = np.random.RandomState(3)
    for likelihood, X in [
        (NegativeBinomial(), X_counts),
        (mixed_likelihood(), X_mixed),
    ]:
        X = X.copy()
        X[rng.rand(*X.shape) < 0.2] = np.nan
        vae = VAETransformer(likelihood=likelihood, **FAST).fit(X)
        assert np.all(np.isfinite(vae.score_samples(X)))


def test_fit_warns_when_bernoulli_meets_grey_levels(X_unit):
    with pytest.warns(UserWarning, match="continuous_bernoulli"):
        VAETransformer(likelihood="bernoulli", **FAST).fit(X_unit)

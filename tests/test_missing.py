"""Missing values (issue 10): NaN marks a missing entry everywhere in
VAETransformer; the ELBO counts the observed entries only; the encoder sees
the others at the training mean plus the missingness mask (at their
conditional means under the start's factor analysis, once fitted to the
observed entries); a row with nothing observed gets the prior; inf is still
an error."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from shared import fast

from skvae import VAETransformer
from skvae.likelihoods import Gaussian

FAST = fast(n_components=2, max_iter=5)


@pytest.fixture
def X_holes(X_gauss):
    """X_gauss with a fifth of its entries missing, one row entirely."""
    X = X_gauss.copy()
    X[np.random.RandomState(1).rand(*X.shape) < 0.2] = np.nan
    X[7] = np.nan
    return X


def test_fit_transform_score_with_missing_values(X_holes):
    X_copy = X_holes.copy()
    vae = VAETransformer(**FAST).fit(X_holes)
    Z = vae.transform(X_holes)
    scores = vae.score_samples(X_holes)
    iw = vae.score_samples_iw(X_holes, n_importance_samples=20)
    np.testing.assert_array_equal(X_holes, X_copy)  # nothing modified in place
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(scores))
    assert np.all(np.isfinite(iw)) and np.all(np.isfinite(vae.loss_curve_))
    # Nothing observed: the prior N(0, I), whose ELBO (of no data) is 0.
    np.testing.assert_array_equal(Z[7], 0.0)
    assert scores[7] == 0.0 and iw[7] == pytest.approx(0.0, abs=1e-12)
    assert vae.__sklearn_tags__().input_tags.allow_nan


def test_training_statistics_ignore_missing_values(X_holes):
    vae = VAETransformer(**FAST).fit(X_holes)
    np.testing.assert_allclose(vae._x_mean, np.nanmean(X_holes, axis=0))
    encoder = vae.net_.module_.encoder
    # The missingness mask is the encoder's second half of inputs.
    assert encoder.mask_inputs
    assert encoder.body[0].in_features == 2 * X_holes.shape[1]
    whole = VAETransformer(**FAST).fit(np.nan_to_num(X_holes))
    assert not whole.net_.module_.encoder.mask_inputs
    # A model fitted on whole rows still takes rows with holes.
    assert np.all(np.isfinite(whole.transform(X_holes)))


def test_missing_entries_do_not_count_in_the_likelihood():
    lik = Gaussian()
    lik.initialize(torch.zeros(4), torch.ones(4))
    x, loc = torch.randn(3, 4), torch.randn(3, 4)
    observed = torch.tensor([[1, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
    got = lik.log_prob(x, loc, observed)
    for i in range(3):
        keep = observed[i]
        expected = torch.distributions.Normal(loc[i, keep], 1.0).log_prob(x[i, keep])
        torch.testing.assert_close(got[i], expected.sum())


def test_score_of_a_row_does_not_depend_on_its_missing_values(X_holes):
    vae = VAETransformer(**FAST).fit(X_holes)
    row = X_holes[:1].copy()
    row[0, 0] = np.nan
    other = row.copy()
    # Missing is missing, whatever the other rows hold.
    np.testing.assert_array_equal(
        vae.score_samples(row), vae.score_samples(np.vstack([row, other]))[:1]
    )


@pytest.mark.parametrize("kind", ["sparse", "pandas", "polars"])
def test_every_input_type_marks_missing_values(X_holes, kind):
    dense = VAETransformer(**FAST).fit(X_holes)
    if kind == "sparse":
        X = sp.csr_matrix(X_holes)  # NaN entries are stored explicitly
        assert np.isnan(X.data).any()
    elif kind == "pandas":
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(X_holes).astype("Float64")  # NaN -> pd.NA
        assert X.isna().to_numpy().sum() == np.isnan(X_holes).sum()
    else:
        pl = pytest.importorskip("polars")
        X = pl.DataFrame(X_holes).fill_nan(None)  # NaN -> null
        assert X.null_count().sum_horizontal().item() == np.isnan(X_holes).sum()
    vae = VAETransformer(**FAST).fit(X)
    np.testing.assert_allclose(vae.transform(X), dense.transform(X_holes), rtol=1e-5)
    np.testing.assert_allclose(
        vae.score_samples(X), dense.score_samples(X_holes), rtol=1e-5, atol=1e-6
    )


def test_importance_weighted_training(X_holes):
    vae = VAETransformer(**fast(max_iter=30, n_importance_samples=5)).fit(X_holes)
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]
    # The loss is the IW bound's; the history also keeps the plain ELBO's terms.
    assert {"train_elbo", "train_kl", "train_reconstruction"} <= set(
        vae.net_.history[-1]
    )
    assert np.all(np.isfinite(vae.score_samples(X_holes)))
    with pytest.raises(ValueError, match="free_bits applies to the ELBO"):
        VAETransformer(**fast(n_importance_samples=5, free_bits=0.5)).fit(X_holes)


def test_entirely_missing_column_is_allowed(X_gauss):
    X = X_gauss.copy()
    X[:, 2] = np.nan
    vae = VAETransformer(**FAST).fit(X)
    assert np.all(np.isfinite(vae.transform(X)))
    assert np.all(np.isfinite(vae.score_samples(X)))
    assert np.all(np.isfinite(vae.inverse_transform(vae.transform(X))))


def test_early_stopping_watches_the_importance_weighted_bound(X_holes):
    """Trained on the IW bound, early stopping scores held-out rows by it too:
    an IWAE-trained model's ELBO falls while its bound rises."""
    vae = VAETransformer(
        **fast(max_iter=8, n_importance_samples=4, early_stopping=True)
    ).fit(X_holes)
    history = vae.net_.history
    assert vae.validation_scores_ == list(history[:, "valid_iw"])
    # the best iteration's bound, or the start's when no iteration beat it
    assert vae.best_validation_score_ >= max(vae.validation_scores_)
    plain = VAETransformer(**fast(max_iter=3, early_stopping=True)).fit(X_holes)
    assert "valid_iw" not in plain.net_.history[-1]
    assert plain.validation_scores_ == list(plain.net_.history[:, "valid_elbo"])


def _low_rank_gaussian(n=1500, p=6, k=2, seed=0):
    rng = np.random.RandomState(seed)
    W = rng.randn(p, k)
    psi = rng.uniform(0.1, 0.4, p)
    X = rng.randn(n, k) @ W.T + rng.randn(n, p) * np.sqrt(psi)
    return X, W @ W.T + np.diag(psi)


def test_factor_analysis_of_the_observed_entries_beats_mean_filling():
    # Mean-filling shrinks every covariance by the share of missing entries;
    # EM on the observed entries (the start of a fit on incomplete rows)
    # recovers the covariance of the complete data.
    from sklearn.decomposition import FactorAnalysis

    from skvae._factory import _factor_analysis_observed

    X, cov = _low_rank_gaussian()
    U = X.copy()
    U[np.random.RandomState(1).rand(*U.shape) < 0.3] = np.nan
    fa = FactorAnalysis(2, random_state=0).fit(np.nan_to_num(U - np.nanmean(U, 0)))
    W0, psi0 = fa.components_.T, fa.noise_variance_
    W, psi, _ = _factor_analysis_observed(U, W0, psi0, np.nanmean(U, 0), 1e-3)
    before = np.abs(W0 @ W0.T + np.diag(psi0) - cov).max()
    after = np.abs(W @ W.T + np.diag(psi) - cov).max()
    assert after < 0.5 * before


def test_encoder_fills_missing_inputs_with_their_conditional_means():
    # E[u_m | u_o] of the Gaussian N(m, W W^T + Psi), by its covariance blocks.
    from skvae import Encoder

    p, k = 6, 2
    X, _ = _low_rank_gaussian(n=5, p=p, k=k)
    rng = np.random.RandomState(2)
    encoder = Encoder(p, k, (8,), mask_inputs=True).double()
    n_factors = encoder.fill_loadings.shape[1]  # fill_components(6, 2) = 4
    assert n_factors == 4
    W, psi, m = rng.randn(p, n_factors), rng.uniform(0.2, 1.0, p), rng.randn(p)
    encoder.set_conditional_fill(W, psi, m)
    observed = np.array([[1, 0, 1, 1, 0, 1]] * 5, dtype=bool)
    observed[2] = [0, 0, 0, 1, 1, 1]
    filled = encoder._fill(torch.as_tensor(X), torch.as_tensor(observed)).numpy()
    S = W @ W.T + np.diag(psi)
    for row, o in zip(range(5), observed):
        u = X[row]
        expected = m[~o] + S[np.ix_(~o, o)] @ np.linalg.solve(
            S[np.ix_(o, o)], u[o] - m[o]
        )
        np.testing.assert_allclose(filled[row, ~o], expected, rtol=1e-10)
        np.testing.assert_array_equal(filled[row, o], u[o])


def test_fit_on_incomplete_rows_sets_the_fill_and_older_state_loads(X_holes):
    from skvae import Encoder

    vae = VAETransformer(**FAST).fit(X_holes)
    encoder = vae.net_.module_.encoder
    assert encoder.fill_loadings.abs().sum() > 0
    # A state_dict written before the fill (no fill buffers) loads with the
    # training-mean fill.
    state = {k: v for k, v in encoder.state_dict().items() if not k.startswith("fill_")}
    fresh = Encoder(X_holes.shape[1], 2, (8,), mask_inputs=True)
    fresh.body, fresh.z_loc_layer = encoder.body, encoder.z_loc_layer
    fresh.z_logvar_layer = encoder.z_logvar_layer
    fresh.load_state_dict(state)
    assert fresh.fill_loadings.abs().sum() == 0


def test_fill_components_grow_with_the_code_and_stay_affordable():
    from skvae._modules import FILL_MAX_COST, fill_components

    assert fill_components(30, 10) == 20  # twice z's dimensions
    assert fill_components(13, 10) == 13  # at most n_features
    assert fill_components(784, 64) == 36  # 784 * 36**2 <= 2**20
    assert 784 * fill_components(784, 64) ** 2 <= FILL_MAX_COST

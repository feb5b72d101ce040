"""Behaviour of VAETransformer: shapes, dtypes, seeds, scores, composition."""

import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from shared import fast
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAETransformer

FAST = fast(hidden_layer_sizes=(16,))


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_and_dtypes(X_gauss, X_unit, likelihood, dtype):
    X = (X_gauss if likelihood == "gaussian" else X_unit).astype(dtype)
    vae = VAETransformer(n_components=3, likelihood=likelihood, **FAST).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (40, 3) and Z.dtype == dtype
    X_back = vae.inverse_transform(Z)
    assert X_back.shape == X.shape and X_back.dtype == dtype
    scores = vae.score_samples(X)
    assert scores.shape == (40,) and scores.dtype == dtype
    assert np.all(np.isfinite(scores))
    for noise in (False, True):
        samples = vae.sample(5, random_state=0, decoder_noise=noise)
        assert samples.shape == (5, 6) and samples.dtype == np.float64
    assert vae.n_iter_ == 3 and len(vae.loss_curve_) == 3
    assert vae.n_features_in_ == 6
    assert list(vae.get_feature_names_out()) == [f"vaetransformer{i}" for i in range(3)]


def test_bernoulli_means_are_probabilities_and_draws_binary(X_unit):
    vae = VAETransformer(likelihood="bernoulli", **FAST).fit(X_unit)
    means = vae.sample(20, random_state=0)
    assert means.min() >= 0 and means.max() <= 1
    draws = vae.sample(20, random_state=0, decoder_noise=True)
    assert set(np.unique(draws)) <= {0.0, 1.0}


def test_same_seed_same_model_and_global_rng_untouched(X_gauss):
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    Z1 = VAETransformer(**FAST).fit_transform(X_gauss)
    Z2 = VAETransformer(**FAST).fit_transform(X_gauss)
    np.testing.assert_array_equal(Z1, Z2)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    Z3 = VAETransformer(**{**FAST, "random_state": 1}).fit_transform(X_gauss)
    assert not np.allclose(Z1, Z3)


def test_fit_transform_equals_fit_then_transform(X_gauss):
    Z1 = VAETransformer(**FAST).fit_transform(X_gauss)
    Z2 = VAETransformer(**FAST).fit(X_gauss).transform(X_gauss)
    np.testing.assert_array_equal(Z1, Z2)


def test_score_is_mean_score_samples_and_deterministic(X_gauss):
    vae = VAETransformer(**FAST).fit(X_gauss)
    s = vae.score_samples(X_gauss)
    assert vae.score(X_gauss) == pytest.approx(s.mean())
    np.testing.assert_array_equal(s, vae.score_samples(X_gauss))
    np.testing.assert_allclose(s[:7], vae.score_samples(X_gauss[:7]), rtol=1e-12)


def test_importance_weighted_bound_is_tighter_than_elbo(X_gauss):
    vae = VAETransformer(**{**FAST, "max_iter": 20}).fit(X_gauss)
    elbo = vae.score_samples(X_gauss).mean()
    iw = vae.score_samples_iw(X_gauss, n_importance_samples=200).mean()
    assert iw > elbo
    iw1 = vae.score_samples_iw(X_gauss, n_importance_samples=1, random_state=3)
    assert iw1.shape == (40,)
    with pytest.raises(ValueError, match="n_importance_samples"):
        vae.score_samples_iw(X_gauss, n_importance_samples=0)


def test_score_uses_plain_elbo_whatever_beta(X_gauss):
    """beta changes training, not the definition of the score."""
    vae = VAETransformer(**FAST).fit(X_gauss)
    before = vae.score(X_gauss)
    vae.set_params(beta=7.0)  # no refit: same weights
    assert vae.score(X_gauss) == before


def test_training_records_elbo_terms(X_gauss):
    vae = VAETransformer(**FAST).fit(X_gauss)
    row = vae.net_.history[-1]
    assert row["train_elbo"] == pytest.approx(
        -(row["train_reconstruction"] + row["train_kl"])
    )
    assert row["train_kl"] >= 0
    assert vae.validation_scores_ is None and vae.best_validation_score_ is None


def test_transform_is_informative_on_digits():
    """Defaults must not collapse on real data (the pitfall of issue 2)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16, y[:600]
    vae = VAETransformer(n_components=5, max_iter=30, random_state=0)
    Z = vae.fit_transform(X)
    accuracy = cross_val_score(LogisticRegression(max_iter=1000), Z, y, cv=3).mean()
    assert accuracy > 0.6  # chance is 0.1; a collapsed model scores ~0.1-0.3
    assert vae.net_.history[-1, "train_kl"] > 1.0


def test_pipeline_and_grid_search_by_elbo(X_gauss):
    pipe = make_pipeline(StandardScaler(), VAETransformer(**FAST))
    grid = GridSearchCV(
        pipe,
        {"vaetransformer__n_components": [1, 2], "vaetransformer__beta": [0.5, 1.0]},
        cv=2,
        n_jobs=2,
    ).fit(X_gauss)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert (
        grid.transform(X_gauss).shape[1]
        == grid.best_params_["vaetransformer__n_components"]
    )


def test_pickle_round_trip(X_gauss):
    vae = VAETransformer(**FAST).fit(X_gauss)
    clone = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(vae.transform(X_gauss), clone.transform(X_gauss))


def test_joblib_load_in_fresh_process_gives_same_results(X_gauss, tmp_path):
    vae = VAETransformer(**FAST).fit(X_gauss)
    joblib.dump(vae, tmp_path / "vae.joblib")
    np.save(tmp_path / "X.npy", X_gauss)
    code = (
        "import joblib, numpy as np\n"
        f"vae = joblib.load({str(tmp_path / 'vae.joblib')!r})\n"
        f"X = np.load({str(tmp_path / 'X.npy')!r})\n"
        f"np.save({str(tmp_path / 'Z.npy')!r}, vae.transform(X))\n"
        f"np.save({str(tmp_path / 'S.npy')!r}, vae.score_samples(X))\n"
        f"np.save({str(tmp_path / 'G.npy')!r}, vae.sample(4, random_state=0))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "Z.npy"), vae.transform(X_gauss))
    np.testing.assert_array_equal(
        np.load(tmp_path / "S.npy"), vae.score_samples(X_gauss)
    )
    np.testing.assert_array_equal(
        np.load(tmp_path / "G.npy"), vae.sample(4, random_state=0)
    )


def test_pca_like_usage_beside_pca(X_gauss):
    """Drop-in where PCA goes: same call shapes."""
    for est in (PCA(n_components=2), VAETransformer(n_components=2, **FAST)):
        Z = est.fit_transform(X_gauss)
        assert est.inverse_transform(Z).shape == X_gauss.shape


def test_float64_inference_follows_the_current_weights(X_gauss):
    """float64 inference reuses a float64 copy of the weights until they change."""
    vae = VAETransformer(**{**FAST, "warm_start": True}).fit(X_gauss)
    Z64 = vae.transform(X_gauss)
    assert vae.net_.module_for_inference(
        torch.float64
    ) is vae.net_.module_for_inference(torch.float64)
    vae.partial_fit(X_gauss)
    Z64_after = vae.transform(X_gauss)
    assert not np.allclose(Z64, Z64_after)
    np.testing.assert_allclose(
        Z64_after, vae.transform(X_gauss.astype(np.float32)), rtol=1e-4, atol=1e-5
    )

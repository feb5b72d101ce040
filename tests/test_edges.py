"""Defects at the edges of mixed tables (issue 22), one test each.

Units, dtypes of generated rows, held-out rows, scores outside a count
likelihood's support, and smaller contracts. Small data, few epochs, fixed
seeds.
"""

import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch
from shared import fast

from skvae import VAETransformer
from skvae._factory import data_statistics
from skvae.likelihoods import ColumnLikelihoods, ContinuousBernoulli, Gaussian, StudentT
from skvae.likelihoods._continuous_bernoulli import cb_mean

# ----------------------------------------------------------------- 1. units


def _correlated_table(unit, n=120, seed=0):
    """Two correlated real columns in ``unit`` beside a 5-level category."""
    rng = np.random.RandomState(seed)
    z = rng.randn(n)
    return pd.DataFrame(
        {
            "a": unit * (z + 0.3 * rng.randn(n)),
            "b": unit * (z + 0.3 * rng.randn(n)),
            "c": pd.Categorical(rng.choice(list("vwxyz"), n)),
        }
    )


def test_variance_floor_is_the_median_of_the_likelihoods_own_columns():
    X = np.column_stack([1e-4 * np.arange(10.0), 2e-4 * np.arange(10.0)])
    X = np.column_stack([X, np.eye(10)[:, :5]])  # a one-hot group
    likelihood = ColumnLikelihoods(
        [(Gaussian(), [0, 1]), (Gaussian(), [2, 3, 4, 5, 6])]
    )
    stats = data_statistics(X, likelihood)
    # the real columns keep their own variance (no floor 1e-3 x the one-hot's)
    np.testing.assert_allclose(stats.scale[:2] ** 2, X[:, :2].var(axis=0))
    # without the blocks, the one-hot columns' median floors them
    assert (data_statistics(X).scale[:2] ** 2 > X[:, :2].var(axis=0)).all()


def test_a_gaussian_columns_units_do_not_change_its_model():
    params = fast(max_iter=5, early_stopping=False)
    small, large = _correlated_table(1e-4), _correlated_table(1.0)
    vae_small = VAETransformer(**params).fit(small)
    vae_large = VAETransformer(**params).fit(large)
    # two columns x 1e4: the density of every row x 1e-8, the rest the same
    shift = vae_small.score_samples(small) - vae_large.score_samples(large)
    np.testing.assert_allclose(shift, 2 * np.log(1e4), atol=0.05)
    lik_small = vae_small.net_.module_.likelihood.blocks[1]
    lik_large = vae_large.net_.module_.likelihood.blocks[1]
    np.testing.assert_allclose(
        lik_small.x_logvar().detach().numpy(),
        lik_large.x_logvar().detach().numpy() + 2 * np.log(1e-4),
        atol=1e-3,
    )


# ------------------------------------------------------------ 2. dtypes


def _typed_table(n=150, seed=0):
    rng = np.random.RandomState(seed)
    return pd.DataFrame(
        {
            "x": rng.randn(n),
            "flag": rng.rand(n) < 0.2,
            "small": rng.randint(0, 4, n).astype(np.uint8),
            "k": rng.randint(-3, 3, n).astype(np.int16),
            "cat": pd.Categorical(rng.choice([10, 20, 30], n)),
            "text": rng.choice(["p", "q"], n).astype(object),
        }
    )


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("decoder_noise", [False, True])
def test_generated_rows_keep_the_tables_dtypes(library, decoder_noise):
    df = _typed_table()
    table = df if library == "pandas" else pl.from_pandas(df)
    vae = VAETransformer(**fast(max_iter=5)).set_output(transform=library)
    vae.fit(table)
    rows = vae.sample(400, random_state=0, decoder_noise=decoder_noise)
    decoded = vae.inverse_transform(vae.transform(table))
    for out in (rows, decoded):
        if library == "pandas":
            assert list(out.columns) == list(df.columns)
            assert out.dtypes.to_dict() == df.dtypes.to_dict()
            assert list(out["cat"].cat.categories) == [10, 20, 30]
            flags = out["flag"].to_numpy()
        else:
            assert out.schema == table.schema
            flags = out["flag"].to_numpy()
        # bool as bool: not all True (the data have 20 % True)
        assert flags.dtype == bool
        assert flags.mean() < 0.5
        small = np.asarray(out["small"], dtype=float)
        assert small.min() >= 0 and small.max() <= 255
        assert set(np.unique(np.asarray(out["text"]))) <= {"p", "q"}
    if decoder_noise:  # a draw of the column, not its rounded mean
        assert 0.05 < rows["flag"].to_numpy().mean() < 0.45


def test_integer_columns_are_clipped_to_their_dtypes_range():
    from skvae._tabular import TableEncoder

    df = pd.DataFrame({"u": np.array([0, 1, 2], np.uint8), "i": np.int8([-1, 0, 1])})
    encoder = TableEncoder().fit(df)
    out = encoder.inverse_transform(np.array([[-3.4, 300.0], [1e6, -1e6]]), "pandas")
    assert out["u"].tolist() == [0, 255] and out.dtypes["u"] == np.uint8
    assert out["i"].tolist() == [127, -128] and out.dtypes["i"] == np.int8
    out = (
        TableEncoder()
        .fit(pl.from_pandas(df))
        .inverse_transform(np.array([[-3.4, 300.0]]), "polars")
    )
    assert out.schema == {"u": pl.UInt8, "i": pl.Int8}
    assert out.row(0) == (0, 127)


# ------------------------------------------------------- 3. held-out rows


def test_held_out_rows_shape_nothing_the_model_learns():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4) @ rng.randn(4, 4)
    params = fast(early_stopping=True, n_iter_no_change=100, max_iter=4)
    vae = VAETransformer(**params).fit(X)
    held = vae._unseen_rows
    assert held is not None and len(held) == 8
    X2 = X.copy()
    X2[held] *= 5.0
    vae2 = VAETransformer(**params).fit(X2)
    np.testing.assert_array_equal(vae2._unseen_rows, held)
    # the same statistics and the same training run
    np.testing.assert_array_equal(vae._x_mean, vae2._x_mean)
    np.testing.assert_array_equal(vae._x_scale, vae2._x_scale)
    # the same training run until the held-out ELBO may first steer the step
    # size (ReduceLROnPlateau watches it: after LR_PATIENCE + 1 iterations)
    np.testing.assert_array_equal(vae.loss_curve_[:3], vae2.loss_curve_[:3])
    train = np.setdiff1d(np.arange(len(X)), held)
    # the same statistics as a fit on the training rows alone would take
    expected = data_statistics(X[train], vae.net_.module_.likelihood)
    np.testing.assert_array_equal(vae._x_scale, expected.scale)


def test_the_refit_on_every_row_keeps_all_row_statistics():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3)
    vae = VAETransformer(**fast(max_iter=4, early_stopping="auto")).fit(X)
    assert vae._unseen_rows is None  # refitted on every row
    encoder = vae.net_.module_.encoder
    np.testing.assert_allclose(encoder.input_scale.numpy(), X.std(axis=0), rtol=1e-6)


# -------------------------------------------------------- 4. count support


@pytest.mark.parametrize("likelihood", ["poisson", "negative_binomial"])
def test_a_count_likelihood_never_scores_minus_inf(likelihood):
    rng = np.random.RandomState(0)
    X = rng.poisson(3.0, (40, 3)).astype(float)
    vae = VAETransformer(**fast(likelihood=likelihood)).fit(X)
    bad = X[:2].copy()
    bad[0, 0], bad[1, 1] = -1.0, 1.5
    with pytest.warns(UserWarning, match="non-negative integers"):
        scores = vae.score_samples(bad)
    with pytest.warns(UserWarning, match="clipped"):
        assert np.isfinite(vae.score(bad))
    assert np.isfinite(scores).all()
    fixed = bad.copy()
    fixed[0, 0], fixed[1, 1] = 0.0, 2.0  # clipped, and rounded
    np.testing.assert_allclose(scores, vae.score_samples(fixed))


# ------------------------------------------------------------- 5. smaller


def test_student_t_needs_min_df_at_least_one():
    with pytest.raises(ValueError, match="min_df must be >= 1"):
        StudentT(min_df=0.5)
    StudentT(min_df=1.0)


def test_continuous_bernoulli_docstring_quotes_its_mean():
    eta = torch.logit(torch.tensor(0.1, dtype=torch.float64))
    quoted = f"{float(cb_mean(eta)):.3f}"
    assert quoted == "0.330"
    assert quoted in ContinuousBernoulli.initialize.__doc__


# (hidden_layer_sizes='auto' of a loaded model: test_persistence.py's
# test_auto_widths_of_another_version_load_from_the_file)


# ------------------------------------------------------- 6. warm start


def test_a_warm_start_with_a_new_beta_trains():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2) @ rng.randn(2, 5) + 0.3 * rng.randn(200, 5)
    vae = VAETransformer(**fast(max_iter=30, early_stopping=True, n_iter_no_change=5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X)
        codes = vae.transform(X)
        n_before = len(vae.net_.history)
        vae.set_params(beta=2.0, warm_start=True).fit(X)
    assert len(vae.net_.history) > n_before
    # the kept weights are some epoch of the continued run, not the start
    assert not np.array_equal(vae.transform(X), codes)


def test_a_held_out_row_far_outside_the_training_rows_does_not_stop_the_fit():
    """Its score overflows float32; training (on the other rows) goes on, and
    early stopping never counts that score as an improvement."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    params = fast(early_stopping=True, n_iter_no_change=100, max_iter=3)
    vae = VAETransformer(**params).fit(X)
    X_far = X.copy()
    X_far[vae._unseen_rows[0]] = 1e30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        far = VAETransformer(**params).fit(X_far)
    # The same training until the schedule acts on the held-out score: two
    # iterations without a gain divide the step size by 5 (as for any
    # plateau), so the third differs.
    assert len(far.loss_curve_) == len(vae.loss_curve_) == 3
    np.testing.assert_array_equal(far.loss_curve_[:2], vae.loss_curve_[:2])
    assert np.isfinite(far.loss_curve_).all()
    assert not np.isfinite(far.validation_scores_).any()


def test_missing_entries_in_held_out_rows_only_survive_the_refit_and_a_file(
    tmp_path,
):
    """The selection run's networks take no mask (its training rows have no
    NaN), the refit's on every row do: the weights file rebuilds the refit's."""
    X = np.random.RandomState(0).randn(100, 3)
    params = fast(max_iter=3)
    held = VAETransformer(**params, early_stopping=True).fit(X)._unseen_rows
    X[held[0], 0] = np.nan
    vae = VAETransformer(**params).fit(X)  # 'auto': refit on all rows
    assert vae._unseen_rows is None and vae._has_missing
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    np.testing.assert_array_equal(loaded.transform(X), vae.transform(X))

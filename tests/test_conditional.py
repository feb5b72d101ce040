"""VAETransformer.sample(given=...): rows with some columns fixed, by inference."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from skvae import VAETransformer

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def table():
    """300 rows: a category that sets the mean of two correlated numbers."""
    rng = np.random.RandomState(0)
    kind = rng.choice(["a", "b", "c"], 300)
    size = np.select([kind == "a", kind == "b"], [0.0, 3.0], 6.0)
    size = size + 0.5 * rng.randn(300)
    return pd.DataFrame(
        {
            "size": size,
            "kind": pd.Categorical(kind),
            "weight": 2 * size + 0.3 * rng.randn(300),
            "count": rng.poisson(3, 300).astype("int64"),
        }
    )


@pytest.fixture(scope="module")
def fitted(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAETransformer(
            n_components=2, max_iter=60, hidden_layer_sizes=(32,), random_state=0
        ).fit(table)
    return vae.set_output(transform="pandas")


@pytest.mark.parametrize("decoder_noise", [False, True])
def test_given_columns_come_back_exactly_as_asked(fitted, table, decoder_noise):
    rows = fitted.sample(
        50,
        random_state=0,
        decoder_noise=decoder_noise,
        given={"kind": "b", "size": 3.25},
    )
    assert list(rows.columns) == list(table.columns)
    assert rows.dtypes.to_dict() == table.dtypes.to_dict()
    assert (rows["kind"] == "b").all()
    assert (rows["size"] == 3.25).all()
    assert rows.notna().all().all()


def test_the_other_columns_follow_the_condition(fitted):
    """Given the category, the numbers it sets come from its group."""
    means = {
        kind: fitted.sample(
            400, random_state=0, decoder_noise=True, given={"kind": kind}
        )["size"].mean()
        for kind in "abc"
    }
    assert means["a"] + 1 < means["b"] < means["c"] - 1  # groups at 0, 3, 6
    # and the category given a number
    share = {
        size: (
            fitted.sample(
                400, random_state=0, decoder_noise=True, given={"size": size}
            )["kind"]
            == "c"
        ).mean()
        for size in (0.0, 6.0)
    }
    assert share[6.0] > share[0.0] + 0.3


def test_a_factor_model_conditions_as_the_gaussian_does():
    """A model at its factor-analysis start: E[x1 | x0] of the linear Gaussian."""
    rng = np.random.RandomState(0)
    z = rng.randn(400, 1)
    X = np.hstack([z, 0.8 * z]) + 0.3 * rng.randn(400, 2)
    vae = VAETransformer(n_components=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X)
    cov = np.cov(X.T)
    expected = X[:, 1].mean() + cov[0, 1] / cov[0, 0] * (1.5 - X[:, 0].mean())
    rows = vae.sample(4000, random_state=0, decoder_noise=True, given={0: 1.5})
    assert_array_equal(rows[:, 0], 1.5)
    assert abs(rows[:, 1].mean() - expected) < 0.1


def test_arrays_take_column_indices(X_gauss):
    vae = VAETransformer(max_iter=3, random_state=0).fit(X_gauss)
    rows = vae.sample(7, random_state=0, given={2: 0.5, 4: -1.0})
    assert rows.shape == (7, 6) and rows.dtype == np.float64
    assert_array_equal(rows[:, 2], 0.5)
    assert_array_equal(rows[:, 4], -1.0)
    with pytest.raises(ValueError, match="without column names: give columns by"):
        vae.sample(3, given={"x2": 0.5})
    with pytest.raises(ValueError, match="index 6, but the model has 6 columns"):
        vae.sample(3, given={6: 0.5})


def test_a_seed_reproduces_the_rows_and_empty_given_is_plain_sampling(fitted):
    a = fitted.sample(20, random_state=3, decoder_noise=True, given={"kind": "a"})
    b = fitted.sample(20, random_state=3, decoder_noise=True, given={"kind": "a"})
    pd.testing.assert_frame_equal(a, b)
    plain = fitted.sample(20, random_state=3, decoder_noise=True)
    pd.testing.assert_frame_equal(
        fitted.sample(20, random_state=3, decoder_noise=True, given={}), plain
    )


@pytest.mark.parametrize(
    "given, error, match",
    [
        (
            {"kind": "z"},
            ValueError,
            r"given\['kind'\] = 'z' is not a category of "
            r"column 'kind'; its categories are \['a', 'b', 'c'\]",
        ),
        ({"kind": None}, ValueError, "not a category of column 'kind'"),
        ({"height": 1.0}, ValueError, "'height', which is not a column"),
        ({"size": "big"}, ValueError, "column 'size' is numeric"),
        ({"size": np.nan}, ValueError, "must be finite"),
        ({"count": 2.5}, ValueError, "'count' holds integers .*int64"),
        ({"size": 1.0, 0: 2.0}, ValueError, "fixes column 'size' twice"),
        ([("kind", "a")], TypeError, "given must be a dict"),
    ],
)
def test_bad_conditions_are_named(fitted, given, error, match):
    with pytest.raises(error, match=match):
        fitted.sample(3, given=given)


def test_a_value_outside_the_likelihoods_support(X_unit):
    vae = VAETransformer(likelihood="bernoulli", max_iter=2, random_state=0)
    vae.fit((X_unit > 0.5).astype(float))
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\] in sample\(given"):
        vae.sample(3, given={0: 2.0})


def test_bad_numbers_of_proposals(fitted):
    with pytest.raises(ValueError, match="n_iw_samples must be a positive integer"):
        fitted.sample(3, given={"kind": "a"}, n_iw_samples=0)


def test_an_improbable_condition_warns(fitted):
    with pytest.warns(UserWarning, match="effective sample size"):
        fitted.sample(
            200, random_state=0, given={"size": 40.0, "weight": -80.0}, n_iw_samples=200
        )


def test_an_object_array_without_set_output(table, fitted):
    vae = VAETransformer(max_iter=2, random_state=0).fit(table)
    rows = vae.sample(4, random_state=0, given={"kind": "c"})
    assert rows.dtype == object and (rows[:, 1] == "c").all()


def test_the_proposals_weights():
    """Nothing observed: equal weights; the prior's proposals alone: p(x_obs|z)."""
    vae = VAETransformer(n_components=2, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(np.random.RandomState(0).randn(40, 3))
    module = vae.net_.module_
    eps = torch.randn(50, 1, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = torch.full((1, 3), float("nan"))
        _, log_w = module.conditional_proposals(x, eps, 0.5)
        assert_allclose(log_w.numpy(), 0.0, atol=1e-5)
        x = torch.tensor([[0.3, float("nan"), float("nan")]])
        z, log_w = module.conditional_proposals(x, eps, 1.0)
        assert_allclose(z.numpy(), eps.numpy())
        out = module.decode(z[:, 0])
        filled, observed = module.fill_missing(x)
        log_px = module.likelihood.log_prob(
            filled.expand(50, 3), out, observed.expand(50, 3)
        )
        assert_allclose(log_w[:, 0].numpy(), log_px.numpy(), rtol=1e-5)

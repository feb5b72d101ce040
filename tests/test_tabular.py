"""Mixed-type tables (issue 11): per-column likelihoods specified like
ColumnTransformer, categorical columns encoded inside, synthetic rows back as
rows of the table."""

import numpy as np
import pytest
import torch
from shared import fast
from sklearn.compose import make_column_selector

from skvae import VAETransformer
from skvae.likelihoods import (
    Categorical,
    ColumnLikelihoods,
    Gaussian,
    Poisson,
    StudentT,
)

pd = pytest.importorskip("pandas")

FAST = fast(n_components=2, max_iter=5, batch_size=16)


@pytest.fixture
def cars():
    """A small table like vega_datasets' cars: real, count and category columns."""
    rng = np.random.RandomState(0)
    n = 60
    cylinders = rng.choice([4, 6, 8], size=n)
    origin = np.where(cylinders == 8, "USA", rng.choice(["Europe", "Japan"], size=n))
    weight = 1500 + 400 * cylinders + rng.randn(n) * 200
    mpg = 50 - 0.007 * weight + rng.randn(n) * 2
    df = pd.DataFrame(
        {
            "mpg": mpg,
            "cylinders": cylinders.astype(np.int64),
            "weight": weight,
            "origin": pd.Categorical(origin),
            "maker": origin.astype(object),  # an object column: categorical too
        }
    )
    df.loc[3, "mpg"] = np.nan
    df.loc[5, "origin"] = np.nan
    return df


def _blocks(vae):
    lik = vae.net_.module_.likelihood
    return [(type(b.likelihood), b.columns) for b in lik.column_blocks(lik.n_features)]


def test_a_raw_table_fits_with_a_likelihood_per_column(cars):
    vae = VAETransformer(likelihood=[("poisson", ["cylinders"])], **FAST).fit(cars)
    assert vae.n_features_in_ == 5
    assert list(vae.feature_names_in_) == list(cars.columns)
    assert isinstance(vae.net_.module_.likelihood, ColumnLikelihoods)
    kinds = sorted((t.__name__, len(cols)) for t, cols in _blocks(vae))
    # origin and maker one-hot (3 categories each), cylinders Poisson, the rest
    # Gaussian
    assert kinds == [
        ("Categorical", 3),
        ("Categorical", 3),
        ("Gaussian", 2),
        ("Poisson", 1),
    ]
    Z = vae.transform(cars)
    scores = vae.score_samples(cars)
    assert Z.shape == (60, 2) and np.all(np.isfinite(Z)) and np.all(np.isfinite(scores))


def test_the_issues_spec_on_an_encoded_table(cars):
    """One-hot columns made upstream, named as one categorical group."""
    onehot = pd.get_dummies(cars["origin"], prefix="origin", dtype=float)
    table = pd.concat([cars[["mpg", "weight", "cylinders"]], onehot], axis=1)
    table = table.fillna({"mpg": table["mpg"].mean()})
    spec = [
        ("gaussian", ["mpg", "weight"]),
        ("poisson", ["cylinders"]),
        ("categorical", [list(onehot.columns)]),
    ]
    vae = VAETransformer(likelihood=spec, **FAST).fit(table)
    kinds = dict(_blocks(vae))
    assert kinds[Gaussian] == (0, 1) and kinds[Poisson] == (2,)
    assert kinds[Categorical] == (3, 4, 5)
    assert np.isfinite(vae.score(table))


def test_columns_in_their_own_units_keep_their_own_variance_floor(cars):
    """Pounds next to miles per gallon in one Gaussian block: each column's
    floor is 1e-3 of its own variance, not of the mean (weight's), which
    would be a standard deviation of ~11 mpg."""
    vae = VAETransformer(likelihood=Gaussian(), **FAST).fit(cars)
    (block,) = [
        b
        for b in vae.net_.module_.likelihood.column_blocks()
        if isinstance(b.likelihood, Gaussian)
    ]
    floors = block.likelihood.x_logvar_floor.exp().numpy()
    names = [vae._model_feature_names[j] for j in block.columns]
    assert set(names) == {"mpg", "cylinders", "weight"}
    for name, floor in zip(names, floors):
        assert floor < 0.02 * cars[name].var()


def test_near_constant_ratio_reaches_the_gaussians_given_by_name():
    """A column of a tenth of the others' spread is near-constant at 0.1:
    floored at 0.1 of its block's median variance, not at 1e-3 of its own,
    in a Gaussian given by name or left as a list's default; a Likelihood
    instance keeps its own setting."""
    rng = np.random.RandomState(0)
    X = rng.randn(100, 4) * [1.0, 1.0, 1.0, 0.1]

    def floors(**params):
        vae = VAETransformer(**params, **FAST).fit(X)
        lik = vae.net_.module_.likelihood
        return np.concatenate(
            [b.likelihood.x_logvar_floor.exp().numpy() for b in lik.column_blocks(4)]
        )

    default = floors()
    np.testing.assert_allclose(default, 1e-3 * X.var(axis=0), rtol=1e-3)
    for spec in ("gaussian", [("gaussian", [0, 1])]):  # [2, 3]: the default block
        high = floors(likelihood=spec, near_constant_ratio=0.1)
        np.testing.assert_allclose(high[:3], default[:3], rtol=1e-6)
        median = np.median(
            X.var(axis=0)[[2, 3]] if isinstance(spec, list) else X.var(axis=0)
        )
        np.testing.assert_allclose(high[3], 0.1 * median, rtol=1e-3)
    np.testing.assert_allclose(
        floors(likelihood=Gaussian(), near_constant_ratio=0.1), default, rtol=1e-6
    )


def test_near_constant_ratio_is_fixed_at_the_first_fit():
    X = np.random.RandomState(0).randn(60, 3)
    vae = VAETransformer(warm_start=True, **FAST).fit(X)
    vae.set_params(near_constant_ratio=0.1)
    with pytest.raises(ValueError, match="near_constant_ratio from None to 0.1"):
        vae.fit(X)
    with pytest.raises(ValueError, match="near_constant_ratio"):
        vae.partial_fit(X)


@pytest.mark.parametrize("likelihood", [Gaussian, StudentT])
@pytest.mark.parametrize("value", [0, 1, -0.5, 2.0, "a", True, float("nan")])
def test_likelihoods_refuse_a_bad_near_constant_ratio(likelihood, value):
    with pytest.raises(ValueError, match="near_constant_ratio must be None or"):
        likelihood(near_constant_ratio=value)


def test_a_near_constant_ratio_below_the_floor_ratio_is_the_floor_ratio():
    """A threshold under min_variance_ratio would floor a constant feature
    lower than the default rule: it counts as min_variance_ratio."""
    var = torch.tensor([1.0, 1.0, 1.0, 0.0 + 1e-12])
    floors = []
    for c in (None, 1e-5):
        lik = Gaussian(near_constant_ratio=c)
        lik.initialize(torch.zeros(4), var)
        floors.append(lik.x_logvar_floor.exp())
    torch.testing.assert_close(floors[1], floors[0])


def test_columns_by_index_mask_and_selector(cars):
    numeric = cars[["mpg", "cylinders", "weight"]].fillna(20.0)
    by_index = VAETransformer(likelihood=[("poisson", [1])], **FAST).fit(numeric)
    by_mask = VAETransformer(
        likelihood=[("poisson", [False, True, False])], **FAST
    ).fit(numeric)
    by_selector = VAETransformer(
        likelihood=[("poisson", make_column_selector(dtype_include=np.int64))], **FAST
    ).fit(numeric)
    for vae in (by_index, by_mask, by_selector):
        assert dict(_blocks(vae))[Poisson] == (1,)
    np.testing.assert_array_equal(
        by_index.transform(numeric), by_mask.transform(numeric)
    )


def test_data_outside_a_columns_support_names_the_column(cars):
    bad = cars.copy()
    bad["weight_tons"] = bad["weight"] / 1000  # not a count
    with pytest.raises(ValueError, match="poisson.*'weight_tons'"):
        VAETransformer(likelihood=[("poisson", ["weight_tons"])], **FAST).fit(bad)
    with pytest.raises(ValueError, match="'cylinders' is given two likelihoods"):
        VAETransformer(
            likelihood=[("poisson", ["cylinders"]), ("gaussian", [1])], **FAST
        ).fit(cars)
    with pytest.raises(ValueError, match="not a column of X"):
        VAETransformer(likelihood=[("poisson", ["wheels"])], **FAST).fit(cars)


def test_unseen_category_counts_as_missing(cars):
    vae = VAETransformer(**FAST).fit(cars)
    new = cars.iloc[:4].copy()
    new["maker"] = new["maker"].astype(object)
    unseen = new.copy()
    unseen.loc[unseen.index[0], "maker"] = "Mars"
    missing = new.copy()
    missing.loc[missing.index[0], "maker"] = None
    np.testing.assert_array_equal(vae.transform(unseen), vae.transform(missing))
    with pytest.raises(ValueError, match="pass a DataFrame"):
        vae.transform(np.zeros((2, 5)))


def test_synthetic_rows_come_back_as_the_table(cars):
    vae = VAETransformer(likelihood=[("poisson", ["cylinders"])], **FAST)
    vae.set_output(transform="pandas").fit(cars)
    for noise in (False, True):
        rows = vae.sample(25, random_state=0, decoder_noise=noise)
        assert isinstance(rows, pd.DataFrame)
        assert list(rows.columns) == list(cars.columns)
        assert list(rows.dtypes) == list(cars.dtypes)
        assert set(rows["origin"].dropna()) <= set(cars["origin"].cat.categories)
        assert set(rows["maker"]) <= {"Europe", "Japan", "USA"}
        assert rows["cylinders"].min() >= 0
    # Without set_output: the same values in an object array.
    plain = VAETransformer(**FAST).fit(cars)
    rows = plain.sample(3, random_state=0)
    assert rows.shape == (3, 5) and rows.dtype == object
    back = plain.inverse_transform(plain.transform(cars))
    assert back.shape == (60, 5)


def test_polars_table_in_and_out(cars):
    pl = pytest.importorskip("polars")
    table = pl.from_pandas(cars.drop(columns=["origin"]))
    vae = VAETransformer(**FAST).set_output(transform="polars").fit(table)
    assert vae.transform(table).shape == (60, 2)
    rows = vae.sample(5, random_state=0, decoder_noise=True)
    assert isinstance(rows, pl.DataFrame) and rows.columns == table.columns
    assert rows.schema["cylinders"] == table.schema["cylinders"]


def test_weights_file_keeps_the_table(cars, tmp_path):
    selector = make_column_selector(dtype_include=np.int64)
    vae = VAETransformer(likelihood=[("poisson", selector)], **FAST).fit(cars)
    vae.save_weights(tmp_path / "cars.pt")
    loaded = VAETransformer.load_weights(tmp_path / "cars.pt")
    np.testing.assert_array_equal(loaded.transform(cars), vae.transform(cars))
    np.testing.assert_array_equal(loaded.score_samples(cars), vae.score_samples(cars))
    assert _blocks(loaded) == _blocks(vae)
    # The selector (code) is stored as the columns it chose.
    assert loaded.likelihood[0][0] == "categorical" or ("poisson", [["cylinders"]]) in [
        tuple(p) for p in loaded.likelihood
    ]


def test_integer_categories_survive_a_weights_file(tmp_path):
    """A category column of integers loads with its categories as integers:
    the loaded model encodes the same rows the same and samples integers."""
    rng = np.random.RandomState(0)
    table = pd.DataFrame(
        {"x": rng.randn(80), "cyl": pd.Categorical(rng.choice([4, 6, 8], size=80))}
    )
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(table)
    vae.save_weights(tmp_path / "vae.pt")
    loaded = VAETransformer.load_weights(tmp_path / "vae.pt")
    loaded.set_output(transform="pandas")
    np.testing.assert_array_equal(loaded.score_samples(table), vae.score_samples(table))
    rows = loaded.sample(5, random_state=0)
    assert list(rows["cyl"].cat.categories) == [4, 6, 8]


def test_a_table_with_integer_column_labels(cars):
    """``pd.DataFrame(array)`` labels its columns 0, 1, ...: the encoder keeps
    names as text and finds such columns by their text."""
    table = cars.set_axis(range(cars.shape[1]), axis=1)
    vae = VAETransformer(**FAST).fit(table)
    np.testing.assert_array_equal(
        vae.transform(table), VAETransformer(**FAST).fit(cars).transform(cars)
    )
    rows = vae.sample(4, random_state=0)
    assert rows.shape == (4, 5)
    assert set(rows[:, 3]) <= {"Europe", "Japan", "USA"}
    rows = vae.set_output(transform="pandas").sample(4, random_state=0)
    assert list(rows.columns) == list(range(5))


def test_columns_the_model_cannot_take_are_named(cars):
    dated = cars.assign(bought=pd.date_range("2020-01-01", periods=len(cars)))
    with pytest.raises(ValueError, match="'bought' has dtype datetime64.*neither"):
        VAETransformer(**FAST).fit(dated)
    empty = cars.assign(colour=pd.Categorical([None] * len(cars), categories=["red"]))
    with pytest.raises(ValueError, match="'colour' has no observed value"):
        VAETransformer(**FAST).fit(empty)


def test_an_identifier_column_warns(cars):
    named = cars.assign(name=[f"car {i}" for i in range(len(cars))])
    with pytest.warns(UserWarning, match="'name' has 60 categories among 60 rows"):
        VAETransformer(**FAST).fit(named)


def test_categories_of_numbers_can_be_numeric_columns(cars):
    """A category dtype of numbers left out of categorical_features (or with
    categorical_features=None) is read as numbers, as before the dtype check."""
    table = cars[["mpg", "weight"]].assign(cyl=pd.Categorical(cars["cylinders"]))
    for spec in (None, []):
        vae = VAETransformer(categorical_features=spec, **FAST).fit(table)
        assert vae.transform(table).shape == (60, 2) and vae._model_width == 3
    with pytest.raises(ValueError, match="'maker' has dtype .*categorical_features"):
        VAETransformer(categorical_features=["origin"], **FAST).fit(cars)


def test_a_missing_numbered_column_is_named(cars):
    table = cars.set_axis(range(cars.shape[1]), axis=1)
    vae = VAETransformer(**FAST).fit(table)
    with pytest.raises(ValueError, match="X has no column '1'"):
        vae.transform(table.set_axis([0, 9, 2, 3, 4], axis=1))


@pytest.fixture
def heaped():
    """A mixed table with a zero-inflated, long-tailed integer column (as
    adult's capital-gain) and a column heaped at 40 (hours worked)."""
    rng = np.random.RandomState(0)
    n = 200
    group = rng.choice(["a", "b"], size=n)
    gain = np.where(rng.rand(n) < 0.7, 0, rng.gamma(2.0, 500.0, n).round() + 100)
    hours = np.where(rng.rand(n) < 0.4, 40, rng.randint(10, 80, n))
    return pd.DataFrame(
        {
            "group": pd.Categorical(group),
            "gain": gain.astype(np.int64),
            "hours": hours.astype(np.int64),
            "x": rng.randn(n) + (group == "a"),
        }
    )


def test_a_heaped_column_of_a_mixed_table_is_a_hurdle(heaped):
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(heaped)
    assert vae._table.spikes == {"gain": 0.0, "hours": 40.0}
    assert vae._model_feature_names == [
        "group_a", "group_b", "gain", "gain==0", "gain!=0",
        "hours", "hours==40", "hours!=40", "x",
    ]  # fmt: skip
    kinds = sorted((t.__name__, cols) for t, cols in _blocks(vae))
    assert kinds == [
        ("Categorical", (0, 1)),
        ("Categorical", (3, 4)),
        ("Categorical", (6, 7)),
        ("Gaussian", (2, 5, 8)),
    ]
    # the value is missing where the column sits at its spike
    X_model = vae._validate_input(heaped, reset=False)
    at = heaped["gain"].to_numpy() == 0
    assert np.isnan(X_model[at, 2]).all() and not np.isnan(X_model[~at, 2]).any()
    np.testing.assert_array_equal(X_model[:, 3], at)
    # draws put rows exactly at the spike, in about the training share
    rows = vae.sample(2000, random_state=0, decoder_noise=True)
    assert list(rows.dtypes) == list(heaped.dtypes)
    share = (rows["gain"] == 0).mean()
    assert 0.4 < share < 0.95
    assert (rows.loc[rows["gain"] != 0, "gain"].abs() > 0).all()
    assert np.isfinite(vae.score(heaped))


def test_conditional_rows_fix_a_hurdle_column(heaped):
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(heaped)
    at_spike = vae.sample(20, given={"gain": 0}, random_state=0, decoder_noise=True)
    assert (at_spike["gain"] == 0).all()
    away = vae.sample(20, given={"gain": 1234}, random_state=0, decoder_noise=True)
    assert (away["gain"] == 1234).all()


def test_the_hurdle_mean_lies_between_the_spike_and_the_value(heaped):
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(heaped)
    means = vae.inverse_transform(vae.transform(heaped))
    # a rounded mixture of 0 and the other values' mean: never below the
    # spike unless the value's mean is
    assert means["gain"].notna().all()
    encoder = vae._table
    out = encoder.inverse_transform(
        np.array([[1.0, 0.0, 500.0, 0.25, 0.75, 30.0, 1.0, 0.0, 0.0]]), "pandas"
    )
    assert out["gain"].iloc[0] == 375 and out["hours"].iloc[0] == 40


def test_no_hurdle_without_gaussian_columns_or_categorical_ones(heaped):
    # every numeric column Gaussian by name only: a list of pairs keeps the
    # columns whole, so a likelihood given to one applies to all its values
    pairs = VAETransformer(likelihood=[("poisson", ["gain"])], **FAST).fit(heaped)
    assert pairs._table.spikes == {}
    assert ("poisson", [2]) in pairs._likelihood_blocks
    numeric = VAETransformer(**FAST).fit(heaped.drop(columns=["group"]))
    assert numeric._table.spikes == {}
    # a heap with fewer than SPIKE_MIN_OTHERS other values (a 0/1 flag)
    flag = heaped.assign(gain=(heaped["gain"] > 0).astype(np.int64))
    assert VAETransformer(**FAST).fit(flag)._table.spikes == {"hours": 40.0}


def test_a_weights_file_keeps_the_hurdles(heaped, tmp_path):
    vae = VAETransformer(**FAST).fit(heaped)
    vae.save_weights(tmp_path / "heaped.pt")
    loaded = VAETransformer.load_weights(tmp_path / "heaped.pt")
    assert loaded._table.spikes == vae._table.spikes
    np.testing.assert_array_equal(
        loaded.score_samples(heaped), vae.score_samples(heaped)
    )


def test_an_integer_code_of_a_mixed_table_is_a_categorical_over_its_values(heaped):
    rng = np.random.RandomState(1)
    table = heaped.assign(years=rng.choice([9, 10, 13, 16], size=len(heaped)))
    vae = VAETransformer(**FAST).set_output(transform="pandas").fit(table)
    assert vae._table.levels == {"years": [9.0, 10.0, 13.0, 16.0]}
    assert vae._model_feature_names[-4:] == [
        "years==9", "years==10", "years==13", "years==16",
    ]  # fmt: skip
    assert ("categorical", [9, 10, 11, 12]) in [
        (name, list(cols)) for name, cols in vae._likelihood_blocks
    ]
    rows = vae.sample(500, random_state=0, decoder_noise=True)
    assert set(rows["years"]) <= {9, 10, 13, 16} and rows["years"].dtype == np.int64
    # the means: the conditional mean of the values, between the extremes
    means = vae.inverse_transform(vae.transform(table))
    assert means["years"].between(9, 16).all()
    fixed = vae.sample(10, given={"years": 13}, random_state=0, decoder_noise=True)
    assert (fixed["years"] == 13).all()
    with pytest.raises(ValueError, match="not a value of column 'years'"):
        vae.sample(10, given={"years": 11}, random_state=0)
    # a value unseen in fit counts as missing, as an unseen category does
    unseen = table.assign(years=11)
    assert np.isnan(vae._validate_input(unseen, reset=False)[:, 9:13]).all()

"""VAEImputer on a table with categorical columns: one model, both kinds filled."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skvae import VAEImputer

pd = pytest.importorskip("pandas")


def _imputer(**params):
    small = {
        "n_components": 2,
        "max_iter": 60,
        "hidden_layer_sizes": (16,),
        "n_iw_samples": 50,
        "random_state": 0,
    }
    return VAEImputer(**{**small, **params})


@pytest.fixture(scope="module")
def tables():
    """240 rows where a category sets a number's mean; a fifth hidden."""
    rng = np.random.RandomState(0)
    kind = rng.choice(["a", "b", "c"], 240)
    size = np.select([kind == "a", kind == "b"], [0.0, 3.0], 6.0)
    size = size + 0.3 * rng.randn(240)
    full = pd.DataFrame(
        {
            "size": size,
            "kind": pd.Categorical(kind),
            "weight": 2 * size + 0.3 * rng.randn(240),
            "label": np.where(kind == "a", "low", "high").astype(object),
        },
        index=np.arange(240) + 1000,
    )
    holes = full.copy()
    mask = rng.rand(*full.shape) < 0.2
    mask[:, 1] |= np.arange(240) % 7 == 0  # more hidden categories
    for j, column in enumerate(full.columns):
        holes.loc[mask[:, j], column] = np.nan if j != 3 else None
    return full, holes, mask


@pytest.fixture(scope="module")
def fitted(tables):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _imputer().fit(tables[1])


def test_output_keeps_the_table(tables, fitted):
    full, holes, mask = tables
    out = fitted.transform(holes)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(holes.columns)
    assert_array_equal(out.index, holes.index)
    assert out.dtypes.to_dict() == holes.dtypes.to_dict()
    assert out.notna().all().all()
    for column in holes.columns:
        seen = holes[column].notna()
        assert (out.loc[seen, column] == holes.loc[seen, column]).all()
    assert set(out["kind"]) <= {"a", "b", "c"}
    assert set(out["label"]) <= {"low", "high"}
    assert holes["kind"].isna().any()  # the input is untouched


def test_categories_come_from_the_other_columns(tables, fitted):
    """Better than the most frequent category, and numbers from their group."""
    full, holes, mask = tables
    out = fitted.transform(holes)
    hidden = mask[:, 1]
    accuracy = (out["kind"][hidden] == full["kind"][hidden]).mean()
    most_frequent = (full["kind"][hidden] == holes["kind"].mode()[0]).mean()
    assert accuracy > most_frequent + 0.3
    hidden = mask[:, 0] & ~mask[:, 1]
    error = np.mean((out["size"][hidden] - full["size"][hidden]) ** 2)
    assert error < np.var(full["size"]) / 4


def test_sample_posterior_draws_categories(tables):
    holes = tables[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = _imputer(sample_posterior=True).fit(holes)
    a, b = imp.transform(holes), imp.transform(holes)
    pd.testing.assert_frame_equal(a, b)  # deterministic
    assert set(a["kind"]) <= {"a", "b", "c"} and a.notna().all().all()
    # one row alone gets what it gets among the others
    row = holes[holes["kind"].isna()].iloc[[0]]
    pd.testing.assert_frame_equal(imp.transform(row), a.loc[row.index])


def test_indicator_columns_and_names(tables):
    holes = tables[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = _imputer(add_indicator=True, max_iter=2).fit(holes)
    out = imp.transform(holes)
    assert list(out.columns) == list(imp.get_feature_names_out())
    assert_array_equal(out["missingindicator_label"], holes["label"].isna())
    assert_array_equal(out["missingindicator_kind"], holes["kind"].isna())


def test_an_unseen_category_is_kept(tables, fitted):
    holes = tables[1].copy()
    holes["label"] = holes["label"].astype(object)
    holes.iloc[0, 3] = "new"
    out = fitted.transform(holes)
    assert out["label"].iloc[0] == "new"


def test_set_output_pandas_and_polars(tables):
    holes = tables[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = _imputer(max_iter=2).set_output(transform="pandas").fit(holes)
    out = imp.transform(holes)
    assert list(out.columns) == list(holes.columns)
    pl = pytest.importorskip("polars")
    pytest.importorskip("pyarrow")
    table = pl.from_pandas(holes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = _imputer(max_iter=2).fit(table)
    out = imp.transform(table)
    assert isinstance(out, pl.DataFrame)
    assert out.null_count().sum_horizontal()[0] == 0


def test_bad_tables_are_named(tables, fitted):
    holes = tables[1]
    with pytest.raises(ValueError, match="categorical columns .*must be NaN"):
        _imputer(missing_values=-1).fit(holes.fillna({"size": -1}))
    empty = holes.assign(weight=np.nan)
    with pytest.raises(ValueError, match="Column 'weight' has no observed value"):
        _imputer().fit(empty)
    with pytest.raises(ValueError, match="pass a DataFrame with the same columns"):
        fitted.transform(holes[["size", "weight"]].to_numpy())
    with pytest.raises(ValueError, match="feature names"):
        fitted.transform(holes.rename(columns={"size": "height"}))

"""Random tables through the whole estimator (issue 22): hypothesis draws them.

Each example is a pandas or polars table of 1-40 columns and 5-300 rows:
floats, ints, uint8, bools, categories of numbers and of strings, object or
String text, NaN (null) in any column, numbers in units from 1e-8 to 1e8.
For each, with small networks and a few epochs:

- fit / transform / score / sample / inverse_transform run, or raise a
  ValueError or TypeError from skvae or scikit-learn (never from torch,
  pandas or polars);
- sample and inverse_transform return the table's columns, dtypes and
  categories;
- scaling a Gaussian column by c > 0 moves every row's score by -log c (where
  the column is observed; within 0.05 nats, fixed seeds) and changes no other
  column's fit (within 1e-2 in log-variance and in standard deviations of
  the decoder's means). The real columns of such a table share one unit
  (1e-8 to 1e8) and none may be near-constant (variance within
  4x of 1e-3 of the median, where the floor borrows the median by design);
  c < 0 is left out: a reflected column is the same model in distribution,
  but with fixed seeds the random first layer sees a reflected input;
- changing only early stopping's held-out rows changes nothing the model
  learned: its statistics, buffers and training run (``loss_curve_``) stay
  bit-identical, and its weights too where the held-out scores keep the same
  epoch. Numbers are redrawn there (NaN included); categories are shuffled
  among those rows, since the table's encoder learns the set of categories
  from every row.

Profiles: ``SKVAE_HYPOTHESIS_PROFILE=ci`` (the default: derandomized, a few
hundred examples in all, about a minute on one core) or ``slow`` (a few
thousand, random, for on-demand runs)::

    SKVAE_HYPOTHESIS_PROFILE=slow python -m pytest tests/test_table_properties.py

hypothesis's own data are small (a seed, the column kinds, units and missing
fractions); numpy draws the values from the seed.
"""

import os
import traceback
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from skvae import VAETransformer

PROFILE = os.environ.get("SKVAE_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "slow"):
    raise ValueError(
        f"SKVAE_HYPOTHESIS_PROFILE must be 'ci' or 'slow', not {PROFILE!r}."
    )
# examples per test: (ci, slow)
EXAMPLES = {"round_trip": (200, 2000), "units": (60, 600), "held_out": (60, 600)}


def profile(test):
    """The hypothesis settings of ``test`` (a key of EXAMPLES) in PROFILE."""
    ci, slow = EXAMPLES[test]
    return settings(
        max_examples=ci if PROFILE == "ci" else slow,
        derandomize=PROFILE == "ci",
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# A fit in milliseconds: tiny networks, two epochs.
SMALL = {
    "hidden_layer_sizes": (8,),
    "max_iter": 2,
    "batch_size": 64,
    "early_stopping": False,
    "random_state": 0,
}

KINDS = ("float", "int", "uint8", "bool", "cat_num", "cat_str", "text")
REAL = ("float",)
NOT_GAUSSIAN = ("cat_num", "cat_str", "text")  # categorical columns

# Where an error may come from: skvae's own checks, or scikit-learn's.
CLEAR_SOURCES = (os.sep + "skvae" + os.sep, os.sep + "sklearn" + os.sep)


# ------------------------------------------------------------------ tables


@st.composite
def column_specs(draw, kinds=KINDS, max_columns=40, nan=True):
    n_columns = draw(st.integers(1, max_columns))
    spec = st.tuples(
        st.sampled_from(kinds),
        st.integers(-8, 8),  # unit exponent (float, int)
        st.integers(0, 199).map(_missing_fraction) if nan else st.just(0.0),
        st.integers(1, 6),  # levels (categories, text)
    )
    return draw(st.lists(spec, min_size=n_columns, max_size=n_columns))


def _missing_fraction(draw):
    """0 (60 %), 0.1 (20 %), 0.5 (19.5 %) or 1 (0.5 %: an empty column)."""
    return 0.0 if draw < 120 else 0.1 if draw < 160 else 0.5 if draw < 199 else 1.0


def make_table(library, n_rows, specs, seed):
    """A pandas or polars table of ``specs`` (kind, unit, NaN fraction,
    levels) per column, values drawn from ``seed``."""
    rng = np.random.RandomState(seed)
    columns = {}
    for j, (kind, unit, nan_fraction, levels) in enumerate(specs):
        missing = rng.rand(n_rows) < nan_fraction
        columns[f"{kind}{j}"] = _column(rng, library, kind, unit, levels, missing)
    if library == "pandas":
        return pd.DataFrame(columns)
    return pl.DataFrame(columns)


def _column(rng, library, kind, unit, levels, missing):
    n = len(missing)
    has_nan = missing.any()
    if kind == "float":
        values = 10.0**unit * (rng.randn(n) + rng.randn())
        values[missing] = np.nan
        if library == "polars":
            return pl.Series(values).fill_nan(None)
        return values
    if kind in ("int", "uint8", "bool"):
        if kind == "int":
            values = rng.randint(-5, 6, n) * 10 ** abs(unit)
            pandas_dtype, polars_dtype = ("Int64", pl.Int64)
        elif kind == "uint8":
            values = rng.randint(0, 256, n).astype(np.uint8)
            pandas_dtype, polars_dtype = ("UInt8", pl.UInt8)
        else:
            values = rng.rand(n) < rng.rand()
            pandas_dtype, polars_dtype = ("boolean", pl.Boolean)
        if library == "polars":
            return pl.Series(
                [None if m else v for m, v in zip(missing, values.tolist())],
                dtype=polars_dtype,
            )
        if not has_nan:
            return values
        series = pd.Series(values, dtype=pandas_dtype)
        series[missing] = pd.NA
        return series
    if kind == "cat_num":
        pool = sorted(rng.choice(1000, levels, replace=False).tolist())
        values = rng.choice(pool, n)
        if library == "polars":  # polars categories are text: an Enum of numbers
            texts = [None if m else str(v) for m, v in zip(missing, values)]
            return pl.Series(texts, dtype=pl.Enum([str(p) for p in pool]))
        series = pd.Series(pd.Categorical(values, categories=pool))
        series[missing] = np.nan
        return series
    pool = [f"s{k}" for k in range(levels)]
    drawn = rng.randint(0, levels, n)
    values = [None if m else pool[i] for m, i in zip(missing, drawn)]
    if kind == "cat_str":
        if library == "polars":
            return pl.Series(values, dtype=pl.Categorical)
        return pd.Series(pd.Categorical(values, categories=pool))
    if library == "polars":
        return pl.Series(values, dtype=pl.String)
    return pd.Series(values, dtype=object)


tables = st.tuples(
    st.sampled_from(("pandas", "polars")),
    st.integers(5, 300),
    column_specs(),
    st.integers(0, 2**31 - 1),
)


# ------------------------------------------------------------------ checks


def _clear_error(exc):
    """The error is a ValueError or TypeError raised by skvae or sklearn."""
    event(f"refused: {type(exc).__name__}: {str(exc)[:40]}")
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    raised_in = frames[-1].filename
    assert any(s in raised_in for s in CLEAR_SOURCES), (
        f"{type(exc).__name__} from {raised_in}: {exc}"
    )
    assert str(exc)


def _assert_like_table(out, table, library):
    """``out`` has the table's columns, dtypes and categories."""
    if library == "pandas":
        assert isinstance(out, pd.DataFrame)
        assert list(out.columns) == list(table.columns)
        assert out.dtypes.to_dict() == table.dtypes.to_dict()
        for name in table.columns:
            column, original = out[name], table[name]
            if isinstance(original.dtype, pd.CategoricalDtype):
                assert list(column.cat.categories) == list(original.cat.categories)
                assert not column.isna().any()
            elif original.dtype == object:
                assert set(column) <= set(original.dropna())
        return
    assert isinstance(out, pl.DataFrame)
    assert out.schema == table.schema
    for name, dtype in table.schema.items():
        if dtype in (pl.Categorical, pl.String) or isinstance(dtype, pl.Enum):
            observed = set(table.get_column(name).drop_nulls().cast(pl.String))
            assert set(out.get_column(name).cast(pl.String)) <= observed


def _fit_quietly(vae, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vae.fit(X)


@pytest.mark.filterwarnings("ignore")
@profile("round_trip")
@given(tables, st.integers(1, 2), st.booleans())
def test_random_tables_fit_score_and_come_back_as_tables(
    table_spec, n_components, decoder_noise
):
    library, n_rows, specs, seed = table_spec
    table = make_table(library, n_rows, specs, seed)
    vae = VAETransformer(n_components=n_components, **SMALL)
    vae.set_output(transform=library)
    try:
        vae.fit(table)
    except (ValueError, TypeError) as exc:
        _clear_error(exc)
        return
    event("fitted")
    codes = vae.transform(table)
    assert codes.shape == (n_rows, n_components)
    assert np.isfinite(np.asarray(codes, dtype=float)).all()
    scores = vae.score_samples(table)
    assert scores.shape == (n_rows,) and np.isfinite(scores).all()
    assert np.isfinite(vae.score(table))
    rows = vae.sample(7, random_state=seed, decoder_noise=decoder_noise)
    _assert_like_table(rows, table, library)
    _assert_like_table(vae.inverse_transform(codes), table, library)


# ------------------------------------------------------------------- units


def _as_float(table, name):
    """A numeric column as float64, missing as NaN (pandas or polars)."""
    column = table[name]
    if isinstance(column, pl.Series):
        return column.cast(pl.Float64).fill_null(np.nan).to_numpy()
    return column.to_numpy(dtype=float, na_value=np.nan)


def _gaussian_variances(table):
    """Variances of the columns the default Gaussian models (numeric ones)."""
    out = []
    for name, kind in zip(table.columns, _kinds(table)):
        if kind not in NOT_GAUSSIAN:
            values = _as_float(table, name)
            out.append(np.nanvar(values) if np.isfinite(values).any() else 0.0)
    return np.array(out)


def _kinds(table):
    return [str(name).rstrip("0123456789") for name in table.columns]


def _regular(variances, margin=4.0):
    """No column is within ``margin`` of the near-constant rule (1e-3 of the
    median variance of the Gaussian columns), which borrows the median by
    design and so ties a column's floor to the others' units."""
    if not len(variances):
        return False
    return bool((variances > margin * 1e-3 * np.median(variances)).all())


@profile("units")
@given(
    st.sampled_from(("pandas", "polars")),
    st.integers(20, 300),
    column_specs(kinds=REAL + NOT_GAUSSIAN, max_columns=12),
    st.integers(0, 2**31 - 1),
    st.data(),
)
def test_a_gaussian_columns_units_change_only_its_own_fit(
    library, n_rows, specs, seed, data
):
    # Real columns in one unit (the table's; a variance of about 1 in it),
    # so that none is near-constant; the categorical columns beside them may
    # be anything.
    unit = data.draw(st.integers(-8, 8), label="unit")
    specs = [(k, unit, f, lv) if k in REAL else (k, u, f, lv) for k, u, f, lv in specs]
    table = make_table(library, n_rows, specs, seed)
    real = [n for n, k in zip(table.columns, _kinds(table)) if k in REAL]
    assume(real)
    name = data.draw(st.sampled_from(real), label="column")
    c = 10.0 ** data.draw(st.floats(-1.0, 1.0), label="log10 c")
    if library == "pandas":
        scaled = table.assign(**{name: table[name] * c})
    else:
        scaled = table.with_columns(pl.col(name) * c)
    assume(_regular(_gaussian_variances(table)))
    assume(_regular(_gaussian_variances(scaled)))
    params = {**SMALL, "max_iter": 3, "n_components": 2}
    try:
        vae = _fit_quietly(VAETransformer(**params), table)
    except ValueError as exc:  # e.g. a categorical column with nothing observed
        _clear_error(exc)
        return
    vae_c = _fit_quietly(VAETransformer(**params), scaled)
    event("fitted")
    observed = ~np.isnan(_as_float(table, name))
    shift = vae_c.score_samples(scaled) - vae.score_samples(table)
    np.testing.assert_allclose(shift, -np.log(c) * observed, atol=0.05)
    # the other columns' fits: variances and decoder means, in their units.
    # Not bit-identical: float32 rounds the two fits differently, and Adam's
    # normalized steps turn that into up to a step (1e-3) per parameter.
    j = vae._model_feature_names.index(str(name))
    logvar = _gaussian_logvars(vae)
    logvar_c = _gaussian_logvars(vae_c)
    expected = dict(logvar)
    expected[j] = logvar[j] + 2 * np.log(c)
    for k in logvar:
        np.testing.assert_allclose(logvar_c[k], expected[k], atol=1e-2)
    codes = np.random.RandomState(0).randn(20, 2)
    means = _model_means(vae, codes)
    means_c = _model_means(vae_c, codes)
    means[:, j] *= c
    scale = np.asarray(vae._x_scale).copy()
    scale[j] *= c
    np.testing.assert_allclose(means_c / scale, means / scale, atol=1e-2)


def _gaussian_logvars(vae):
    """{model column: fitted log-variance} of the Gaussian blocks."""
    likelihood = vae.net_.module_.likelihood
    out = {}
    for block in likelihood.column_blocks(vae._model_width):
        if hasattr(block.likelihood, "x_logvar"):
            values = block.likelihood.x_logvar().detach().double().numpy()
            out.update(zip(block.columns, values))
    return out


def _model_means(vae, codes):
    """Decoder means of ``codes`` in the model's columns, data units."""
    import torch

    module = vae._inference_module(np.float64)
    with torch.no_grad():
        x = module.likelihood.mean(module.decode(torch.as_tensor(codes)))
    return vae._uncentred(x.numpy(), np.float64)


# ----------------------------------------------------------- held-out rows


@profile("held_out")
@given(tables, st.data())
def test_held_out_rows_change_nothing_the_model_learns(table_spec, data):
    library, n_rows, specs, seed = table_spec
    table = make_table(library, n_rows, specs, seed)
    params = {
        **SMALL,
        "max_iter": 3,
        "early_stopping": True,
        "n_iter_no_change": 100,
        "validation_fraction": data.draw(st.sampled_from((0.1, 0.3)), label="held"),
    }
    try:
        vae = _fit_quietly(VAETransformer(**params), table)
    except ValueError as exc:
        _clear_error(exc)
        return
    event("fitted")
    held = vae._unseen_rows
    assert held is not None and len(held)
    encoder = vae._table
    # integer codes and heaps are, like the categories, part of the table's
    # encoding, learned from every row: their values are shuffled, not redrawn
    keep = set(getattr(encoder, "levels", {})) | set(getattr(encoder, "spikes", {}))
    changed = _change_rows(table, library, held, seed + 1, keep=keep)
    vae2 = _fit_quietly(VAETransformer(**params), changed)
    if (vae2._table.levels, vae2._table.spikes) != (encoder.levels, encoder.spikes):
        # a redrawn column became (or stopped being) an integer code or a
        # heap: the encoding, decided from every row, differs by design
        event("encoding changed")
        return
    np.testing.assert_array_equal(vae2._unseen_rows, held)
    for attribute in ("_x_mean", "_x_scale", "_x_offset", "_has_missing"):
        np.testing.assert_array_equal(
            getattr(vae2, attribute), getattr(vae, attribute), err_msg=attribute
        )
    np.testing.assert_array_equal(vae2.loss_curve_, vae.loss_curve_)
    # the networks' buffers (standardization, output map, floors)
    state, state2 = (v.net_.module_.state_dict() for v in (vae, vae2))
    buffers = dict(vae.net_.module_.named_buffers())
    for key in buffers:
        if key in state:
            np.testing.assert_array_equal(state2[key].numpy(), state[key].numpy())
    # the same weights where the held-out scores chose the same epoch
    if _kept_epoch(vae) == _kept_epoch(vae2):
        for key in state:
            np.testing.assert_array_equal(state2[key].numpy(), state[key].numpy())


def _kept_epoch(vae):
    """The epoch whose weights early stopping kept (0: the start)."""
    scores = list(vae.validation_scores_)
    best = vae.best_validation_score_
    return scores.index(best) + 1 if best in scores else 0


def _change_rows(table, library, rows, seed, keep=()):
    """The table with new values in ``rows`` only: numbers redrawn (x5 and
    shifted for real columns, NaN anywhere), categories shuffled among those
    rows (so that the set of categories, which the encoder of the table
    learns from every row, stays), as are the columns named in ``keep`` (an
    integer code's values and a heap's counts, learned the same way)."""
    rng = np.random.RandomState(seed)
    rows = np.asarray(rows)
    out = table.to_pandas() if library == "polars" else table.copy()
    for name, kind in zip(out.columns, _kinds(out)):
        column = out[name].copy()
        if kind in NOT_GAUSSIAN or str(name) in keep:
            values = column.iloc[rows].to_numpy(copy=True)
            column.iloc[rows] = values[rng.permutation(len(rows))]
        elif kind == "float":
            new = 5 * column.iloc[rows].to_numpy(dtype=float) + 3 * column.std()
            new[rng.rand(len(rows)) < 0.3] = np.nan
            column = column.astype(float)
            column.iloc[rows] = new
        elif kind == "bool":
            column.iloc[rows] = rng.rand(len(rows)) < 0.5
        else:
            column.iloc[rows] = rng.randint(0, 100, len(rows))
        out[name] = column.astype(out[name].dtype)
    if library == "polars":
        return pl.from_pandas(out, schema_overrides=table.schema)
    return out

"""Every common input type: sparse, DataFrames, read-only and memory-mapped
arrays, and batched inference of large inputs (issue 3)."""

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from shared import FAST

import skvae._runtime
from skvae import VAETransformer

SPARSE_TYPES = [sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array]


def _bag_of_words(n=48, d=20, density=0.15, seed=0):
    """Binary document-term data: the sparse Bernoulli use case."""
    rng = np.random.RandomState(seed)
    return (rng.rand(n, d) < density).astype(np.float64)


def _sparse_gaussian(n=48, d=10, density=0.3, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d) * (rng.rand(n, d) < density)


def _all_outputs(vae, X):
    Z = vae.transform(X)
    return {
        "transform": Z,
        "inverse_transform": vae.inverse_transform(Z),
        "score_samples": vae.score_samples(X),
        "score_samples_iw": vae.score_samples_iw(X, n_importance_samples=20),
        "sample": vae.sample(5, random_state=0),
    }


@pytest.mark.parametrize("container", SPARSE_TYPES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "likelihood, make", [("bernoulli", _bag_of_words), ("gaussian", _sparse_gaussian)]
)
def test_sparse_gives_dense_results(container, likelihood, make):
    X = make()
    X_sparse = container(X)
    dense_model = VAETransformer(likelihood=likelihood, **FAST).fit(X)
    sparse_model = VAETransformer(likelihood=likelihood, **FAST).fit(X_sparse)
    # One fitted model: sparse and dense inputs give the same numbers.
    for name, value in _all_outputs(sparse_model, X_sparse).items():
        expected = _all_outputs(sparse_model, X)[name]
        np.testing.assert_allclose(
            value, expected, rtol=1e-10, atol=1e-12, err_msg=name
        )
    # Fitting on sparse or dense data trains the same model (float tolerance:
    # the feature means come from different summation orders).
    np.testing.assert_allclose(
        sparse_model.transform(X_sparse),
        dense_model.transform(X),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        sparse_model.loss_curve_, dense_model.loss_curve_, rtol=1e-4
    )
    assert sparse_model.transform(X_sparse).dtype == np.float64
    assert sp.issparse(X_sparse) and X_sparse.nnz == np.count_nonzero(X)


def test_sparse_float32_and_partial_fit():
    X = sp.csr_matrix(_bag_of_words().astype(np.float32))
    vae = VAETransformer(n_components=2, likelihood="bernoulli", **FAST)
    vae.partial_fit(X[:24]).partial_fit(X[24:])
    assert vae.n_iter_ == 2
    Z = vae.transform(X)
    assert Z.dtype == np.float32 and Z.shape == (48, 2)


def test_sparse_input_is_not_modified():
    X = sp.csc_matrix(_bag_of_words())
    before = X.copy()
    vae = VAETransformer(likelihood="bernoulli", **FAST).fit(X)
    vae.transform(X)
    vae.score_samples(X)
    assert X.format == "csc"
    assert (X != before).nnz == 0


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_dataframes_in_and_out(library, X_gauss):
    lib = pytest.importorskip(library)
    columns = [f"gene_{i}" for i in range(X_gauss.shape[1])]
    df = lib.DataFrame({c: X_gauss[:, i] for i, c in enumerate(columns)})
    vae = VAETransformer(n_components=3, **FAST).set_output(transform=library)
    out = vae.fit_transform(df)
    assert isinstance(out, lib.DataFrame)
    names = [f"vaetransformer{i}" for i in range(3)]
    assert list(out.columns) == names == list(vae.get_feature_names_out())
    assert list(vae.feature_names_in_) == columns
    np.testing.assert_allclose(
        np.asarray(out), VAETransformer(n_components=3, **FAST).fit_transform(X_gauss)
    )
    if library == "pandas":
        assert list(out.index) == list(df.index)
    # The other methods take the DataFrame too and return arrays.
    assert vae.score_samples(df).shape == (40,)
    assert vae.inverse_transform(np.asarray(out)).shape == X_gauss.shape


def test_feature_names_checked_at_transform(X_gauss):
    pd = pytest.importorskip("pandas")
    columns = [f"f{i}" for i in range(X_gauss.shape[1])]
    df = pd.DataFrame(X_gauss, columns=columns)
    vae = VAETransformer(**FAST).fit(df)
    # Same names, other order: an error, as in sklearn.
    with pytest.raises(ValueError, match="feature names should match"):
        vae.transform(df[columns[::-1]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        vae.transform(df.rename(columns={"f0": "other"}))
    # No names at all: a warning, and the same codes.
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        Z = vae.transform(X_gauss)
    np.testing.assert_array_equal(Z, vae.transform(df))
    # Fitted without names, given names: a warning.
    plain = VAETransformer(**FAST).fit(X_gauss)
    with pytest.warns(UserWarning, match="X has feature names, but VAETransformer"):
        plain.transform(df)


def test_read_only_and_memmapped_arrays(X_gauss, tmp_path):
    X = X_gauss.copy()
    X.setflags(write=False)
    vae = VAETransformer(**FAST).fit(X)
    Z = vae.transform(X)
    joblib.dump(X_gauss, tmp_path / "X.joblib")
    X_mm = joblib.load(tmp_path / "X.joblib", mmap_mode="r")
    assert isinstance(X_mm, np.memmap) and not X_mm.flags.writeable
    fitted_on_mm = VAETransformer(**FAST).fit(X_mm)
    np.testing.assert_array_equal(fitted_on_mm.transform(X_mm), Z)
    np.testing.assert_array_equal(vae.score_samples(X_mm), vae.score_samples(X))
    Z_ro = Z.copy()
    Z_ro.setflags(write=False)
    assert vae.inverse_transform(Z_ro).shape == X.shape
    # Bernoulli clipping in score_samples copies; the read-only input is untouched.
    X_unit = np.clip(X_gauss, -0.5, 1.5)
    X_unit.setflags(write=False)
    bern = VAETransformer(likelihood="bernoulli", **FAST).fit(np.clip(X_unit, 0, 1))
    with pytest.warns(UserWarning, match="clipped"):
        bern.score_samples(X_unit)


@pytest.mark.parametrize("sparse", [False, True])
def test_batched_inference_equals_unbatched(monkeypatch, X_gauss, sparse):
    """Large inputs go through in batches (INFERENCE_BATCH_ELEMENTS values per
    batch); a tiny batch budget must give the same numbers as one batch."""
    X = sp.csr_matrix(X_gauss) if sparse else X_gauss
    vae = VAETransformer(n_components=2, **FAST).fit(X)
    whole = _all_outputs(vae, X)
    batch_sizes = []
    map_rows = vae._map_rows

    def spy(X, fn, width, **kwargs):
        budget = skvae._runtime.INFERENCE_BATCH_ELEMENTS
        step = max(1, budget // max(1, width, X.shape[1]))
        batch_sizes.append(min(step, X.shape[0]))
        return map_rows(X, fn, width, **kwargs)

    monkeypatch.setattr(skvae._runtime, "INFERENCE_BATCH_ELEMENTS", 20)
    monkeypatch.setattr(vae, "_map_rows", spy)
    batched = _all_outputs(vae, X)
    # transform and inverse_transform: 20 // 6 features = 3 rows a batch;
    # score_samples (16 noise draws x 6 features a row): 1 row a batch.
    assert batch_sizes == [3, 3, 1, 1, 3]
    for name in whole:
        np.testing.assert_allclose(
            batched[name], whole[name], rtol=1e-12, atol=1e-12, err_msg=name
        )

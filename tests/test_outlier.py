"""VAEOutlierDetector: sklearn's outlier-detector contract and its behaviour."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_n_features_in_after_fitting,
    check_outliers_fit_predict,
    check_outliers_train,
    check_param_validation,
    parametrize_with_checks,
)

from skvae import VAEOutlierDetector, VAETransformer, _outlier
from skvae._outlier import _OWN_PARAMS
from skvae.likelihoods import Gaussian, StudentT


def _detector(**params):
    small = {
        "n_components": 2,
        "max_iter": 2,
        "hidden_layer_sizes": (8,),
        "random_state": 0,
    }
    return VAEOutlierDetector(**{**small, **params})


# 60 held-out rows of sklearn's 300 (not 30): check_outliers_train wants some
# training row below the 'auto' threshold, whose quartiles come from the
# held-out rows, which the VAE's statistics no longer see either.
@parametrize_with_checks(
    [
        _detector(validation_fraction=0.2),
        _detector(score_type="iw", n_iw_samples=4, validation_fraction=0.2),
    ]
)
def test_sklearn_compatible_outlier_detector(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        check_param_validation,
        check_dataframe_column_names_consistency,
        check_n_features_in_after_fitting,
    ],
    ids=lambda c: c.__name__,
)
def test_extra_sklearn_checks(check):
    check(VAEOutlierDetector.__name__, _detector())


def test_parameters_mirror_vae_transformer():
    """Every VAETransformer parameter is the detector's, with the same name."""
    own = set(VAEOutlierDetector().get_params())
    assert own == set(VAETransformer().get_params()) | set(_OWN_PARAMS)


@pytest.mark.parametrize(
    "likelihood, cls", [("student_t", StudentT), ("gaussian", Gaussian)]
)
def test_near_constant_ratio_is_the_detectors_own_default(
    novelty_data, likelihood, cls
):
    """near_constant_ratio=0.1 (VAETransformer's: None, 1e-3) reaches the
    VAE's likelihood, the default Student-t's or a Gaussian's: its floors are
    those of ``cls(near_constant_ratio=0.1)``, higher for the feature of
    small variance only."""
    X_train, _, _ = novelty_data
    det = _fit(X_train, max_iter=1, likelihood=likelihood)
    assert det.near_constant_ratio == 0.1 == det.vae_.near_constant_ratio
    # the detector's early stopping and seed: the same training rows, whose
    # statistics (not the held-out ones') place the floors
    params = {
        "n_components": 2,
        "max_iter": 1,
        "hidden_layer_sizes": (16,),
        "early_stopping": True,
        "random_state": 0,
    }
    floors = [
        vae.fit(X_train).net_.module_.likelihood.x_logvar_floor.numpy()
        for vae in (
            VAETransformer(likelihood=cls(near_constant_ratio=0.1), **params),
            VAETransformer(likelihood=cls(), **params),
        )
    ]
    assert_allclose(det.vae_.net_.module_.likelihood.x_logvar_floor, floors[0])
    higher = floors[0] > floors[1] + 1e-6
    assert higher.sum() == 1
    assert_allclose(floors[0][~higher], floors[1][~higher])


def test_student_t_and_an_iteration_budget_are_the_detectors_defaults(
    novelty_data, monkeypatch
):
    """likelihood='student_t' (VAETransformer's: 'gaussian') and
    max_iter='auto', the detector's budget of AUTO_MAX_ITER iterations
    (VAETransformer's 'auto': 200): a fit that reaches it ends without a
    ConvergenceWarning; an int max_iter reached still warns."""
    from sklearn.exceptions import ConvergenceWarning

    X_train, _, _ = novelty_data
    det = VAEOutlierDetector()
    assert det.likelihood == "student_t" and det.max_iter == "auto"
    assert VAETransformer().likelihood == "gaussian"
    small = {"n_components": 2, "hidden_layer_sizes": (8,), "random_state": 0}
    monkeypatch.setattr(_outlier, "AUTO_MAX_ITER", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        det = VAEOutlierDetector(n_iter_no_change=50, **small).fit(X_train)
    assert isinstance(det.vae_.net_.module_.likelihood, StudentT)
    assert det.vae_.max_iter == 2 and det.n_iter_ == 2
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        VAEOutlierDetector(max_iter=2, n_iter_no_change=50, **small).fit(X_train)


def _standard_normal_mixture(k):
    """A one-component GaussianMixture that is N(0, I) in k dimensions."""
    from sklearn.mixture import GaussianMixture

    gmm = GaussianMixture(1, covariance_type="full")
    gmm.weights_ = np.ones(1)
    gmm.means_ = np.zeros((1, k))
    gmm.covariances_ = np.eye(k)[None]
    gmm.precisions_cholesky_ = np.eye(k)[None]
    return gmm


def test_aggregate_prior_scores(novelty_data):
    """prior='aggregate' (the default): a GaussianMixture fitted to the codes
    of the rows the VAE trained on replaces N(0, I) in 'elbo' and 'iw'; with
    that mixture set to N(0, I), 'iw' is the VAE's own bound, draw for draw,
    and 'elbo' its ELBO with a sampled KL."""
    X_train, X_test, _ = novelty_data
    det = _fit(X_train, n_iw_samples=7)
    assert det.prior == "aggregate"
    assert det.prior_.means_.shape[1] == 2  # n_components
    aggregate = det.score_samples(X_test)
    det.prior_ = _standard_normal_mixture(2)
    assert not np.allclose(det.score_samples(X_test), aggregate)
    det.set_params(score_type="iw")
    iw = det.vae_.score_samples_iw(X_test, 7, random_state=det._iw_seed)
    assert_allclose(det.score_samples(X_test), iw, rtol=1e-9)
    det.set_params(score_type="elbo")
    assert_allclose(det.score_samples(X_test), det.vae_.score_samples(X_test), atol=0.5)
    det.set_params(score_type="reconstruction_probability")
    assert_allclose(det.score_samples(X_test), det.vae_.elbo_terms(X_test)[0])


def test_aggregate_prior_leaves_the_held_out_rows_unseen(novelty_data):
    """The mixture is fitted to the rows the VAE trained on, not to the
    held-out rows that set the 'auto' threshold."""
    X_train, _, _ = novelty_data
    det = _fit(X_train, trim_fraction=0.0)
    unseen = det.vae_._unseen_rows
    assert unseen is not None and len(unseen) == 15
    trained = np.setdiff1d(np.arange(len(X_train)), unseen)
    z = det.vae_._posterior_draws(X_train[trained], 4, seed=det._iw_seed + 1)[2]
    refit = clone(det.prior_).fit(z.reshape(-1, 2))
    assert_allclose(refit.means_, det.prior_.means_)


def test_prior_set_after_a_fit_without_it(novelty_data):
    X_train, X_test, _ = novelty_data
    det = _fit(X_train, prior="standard_normal", max_iter=2)
    det.set_params(prior="aggregate")
    with pytest.raises(ValueError, match="fit again"):
        det.score_samples(X_test)
    det.set_params(score_type="reconstruction_probability")
    det.score_samples(X_test)


@pytest.fixture
def novelty_data():
    """Training rows near a 2-D plane in 6-D; test: 20 such rows, 20 off it."""
    rng = np.random.RandomState(0)
    W = rng.randn(2, 6)
    X_train = rng.randn(150, 2) @ W + 0.1 * rng.randn(150, 6)
    X_in = rng.randn(20, 2) @ W + 0.1 * rng.randn(20, 6)
    X_out = rng.randn(20, 2) @ W + 0.1 * rng.randn(20, 6) + 3 * rng.randn(20, 6)
    y_novel = np.r_[np.zeros(20), np.ones(20)]
    return X_train, np.vstack([X_in, X_out]), y_novel


def _fit(X, **params):
    """A detector of one VAE (n_estimators=1), whose vae_, prior_ and offset_
    the tests below check against the VAE's own scores; the ensemble's
    tests are at the end of the file."""
    defaults = {
        "n_components": 2,
        "max_iter": 30,
        "hidden_layer_sizes": (16,),
        "n_estimators": 1,
    }
    return VAEOutlierDetector(random_state=0, **{**defaults, **params}).fit(X)


@pytest.mark.parametrize("score_type", ["elbo", "iw", "reconstruction_probability"])
def test_scores_rank_novelties_and_predict_agrees(novelty_data, score_type):
    X_train, X_test, y_novel = novelty_data
    det = _fit(X_train, score_type=score_type, n_iw_samples=20)
    scores = det.score_samples(X_test)
    assert scores.shape == (40,) and scores.dtype == np.float64
    assert roc_auc_score(y_novel, -scores) > 0.9
    decision = det.decision_function(X_test)
    assert_allclose(decision, scores - det.offset_)
    assert_array_equal(det.predict(X_test), np.where(decision < 0, -1, 1))


def test_score_types_are_the_vae_quantities(novelty_data):
    """With prior='standard_normal', the VAE's own scores."""
    X_train, X_test, _ = novelty_data
    det = _fit(X_train, prior="standard_normal")
    assert det.prior_ is None
    log_px, kl = det.vae_.elbo_terms(X_test)
    assert_allclose(det.score_samples(X_test), det.vae_.score_samples(X_test))
    assert_allclose(det.score_samples(X_test), log_px - kl, rtol=1e-6)
    det.set_params(score_type="reconstruction_probability")
    assert_allclose(det.score_samples(X_test), log_px)
    det.set_params(score_type="iw", n_iw_samples=7)
    iw = det.score_samples(X_test)
    assert_allclose(iw, det.score_samples(X_test))  # fixed noise: deterministic
    assert_allclose(iw, det.vae_.score_samples_iw(X_test, 7, det._iw_seed))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25, 0.5])
def test_contamination_fraction_on_training_data(novelty_data, contamination):
    X_train = novelty_data[0]
    det = _fit(X_train, contamination=contamination)
    flagged = np.mean(det.predict(X_train) == -1)
    assert flagged == pytest.approx(contamination, abs=1 / len(X_train))
    assert_allclose(
        det.offset_, np.percentile(det.score_samples(X_train), 100 * contamination)
    )


def _fence(scores):
    q1, q3 = np.percentile(scores, [25, 75])
    return q1 - 1.5 * (q3 - q1)


def test_auto_offset_is_tukeys_lower_fence_of_held_out_rows(novelty_data):
    """'auto': early stopping's held-out rows, which the VAE never trained on
    (no refit), set the threshold; new normal rows are then flagged about as
    often as those rows, not as rarely as the training rows."""
    X_train, X_test, y_novel = novelty_data
    det = _fit(X_train, trim_fraction=0.0)
    assert det.vae_.early_stopping is True  # the detector's 'auto': no refit
    unseen = det.vae_._unseen_rows
    assert len(unseen) == 15 and len(np.unique(unseen)) == 15
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X_train[unseen])))
    # The same VAE as VAETransformer's early stopping without refit.
    params = {k: v for k, v in det.get_params().items() if k not in _OWN_PARAMS}
    vae = VAETransformer(**{**params, "early_stopping": True}).fit(X_train)
    assert_array_equal(vae._unseen_rows, unseen)
    assert_allclose(vae.transform(X_test), det.vae_.transform(X_test))
    assert_array_equal(det.fit_predict(X_train), det.predict(X_train))
    # Most off-plane rows flagged, few on-plane ones.
    predicted = det.predict(X_test)
    assert np.mean(predicted[y_novel == 1] == -1) > 0.7
    assert np.mean(predicted[y_novel == 0] == -1) < 0.3


@pytest.mark.parametrize(
    "early_stopping, n_rows", [(False, 90), ("auto", 19)], ids=["off", "auto"]
)
def test_auto_offset_falls_back_to_training_rows(novelty_data, early_stopping, n_rows):
    """Without held-out rows (early stopping off, or 'auto' on fewer than 20
    rows), the training rows' fence is the offset."""
    X_train = novelty_data[0][:n_rows]
    det = _fit(X_train, early_stopping=early_stopping)
    assert det.vae_.early_stopping is False and det.vae_._unseen_rows is None
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X_train)))


def test_auto_holds_out_ten_rows_of_a_small_table(novelty_data):
    """'auto' on 90 rows, where validation_fraction=0.1 makes 9: the detector
    holds out 10 all the same, stops on them and sets the fence from them
    (trained to its training loss's plateau instead, the VAE overfitted and
    'predict' flagged every new row of ADBench's tables under 100 rows)."""
    X_train = novelty_data[0][:90]
    det = _fit(X_train)
    unseen = det.vae_._unseen_rows
    assert det.vae_.early_stopping is True and len(unseen) == 10
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X_train[unseen])))


def test_auto_offset_needs_ten_held_out_rows(novelty_data):
    """early_stopping=True holding out 3 rows: too few for quartiles, so the
    training rows set the fence (as with none)."""
    X_train = novelty_data[0]
    det = _fit(X_train, early_stopping=True, validation_fraction=0.02)
    assert len(det.vae_._unseen_rows) == 3
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X_train)))


def test_warm_start_offset_is_the_training_fence(novelty_data):
    """A warm-started fit continues a model that may have trained on any row."""
    X_train = novelty_data[0]
    det = _fit(X_train, warm_start=True, max_iter=3)
    assert det.vae_._unseen_rows is not None
    det.fit(X_train)
    assert det.vae_._unseen_rows is None
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X_train)))


def test_unseen_rows_of_the_transformer(novelty_data):
    """VAETransformer keeps the rows its model never trained on: early
    stopping's held-out rows, unless a refit ('auto' on small data) or a
    continued fit trained on them."""
    X = novelty_data[0]
    small = {"n_components": 2, "max_iter": 3, "hidden_layer_sizes": (8,)}
    assert VAETransformer(**small, early_stopping="auto").fit(X)._unseen_rows is None
    assert VAETransformer(**small, early_stopping=False).fit(X)._unseen_rows is None
    vae = VAETransformer(**small, early_stopping=True, random_state=0).fit(X)
    assert len(vae._unseen_rows) == 15
    assert vae.partial_fit(X)._unseen_rows is None


def test_float32_scores_stay_float32(novelty_data):
    X_train, X_test, _ = novelty_data
    det = _fit(X_train.astype(np.float32), max_iter=3)
    assert det.score_samples(X_test.astype(np.float32)).dtype == np.float32
    assert det.decision_function(X_test.astype(np.float32)).dtype == np.float32


def test_grid_search_over_vae_hyperparameters(novelty_data):
    """Tuned by ROC AUC on a labelled validation set (novelty labels as y)."""
    X_train, X_test, y_novel = novelty_data

    def auc(est, X, y):
        return roc_auc_score(y, -est.score_samples(X))

    X = np.vstack([X_train, X_test])
    y = np.r_[np.zeros(len(X_train)), y_novel]
    grid = GridSearchCV(
        _detector(max_iter=10),
        {"n_components": [1, 2], "score_type": ["elbo", "reconstruction_probability"]},
        scoring=auc,
        cv=[(np.arange(len(X_train)), np.arange(len(X_train), len(X)))],
    ).fit(X, y)
    assert grid.best_params_["n_components"] in (1, 2)
    assert grid.best_estimator_.vae_.n_components == grid.best_params_["n_components"]
    # sklearn's own scorers work too, on the decision function
    scorer = make_scorer(roc_auc_score, response_method="decision_function")
    assert 0 <= scorer(grid.best_estimator_, X_test, 1 - y_novel) <= 1


def test_pickle_round_trip(novelty_data):
    X_train, X_test, _ = novelty_data
    det = _fit(X_train, max_iter=3)
    again = pickle.loads(pickle.dumps(det))
    assert_array_equal(again.decision_function(X_test), det.decision_function(X_test))
    assert_array_equal(again.predict(X_test), det.predict(X_test))


def test_seed_reproduces_and_clone_is_unfitted(novelty_data):
    X_train, X_test, _ = novelty_data
    a = _fit(X_train, max_iter=3)
    b = _fit(X_train, max_iter=3)
    assert_array_equal(a.score_samples(X_test), b.score_samples(X_test))
    assert not hasattr(clone(a), "vae_")


def test_warm_start_continues_the_same_vae(novelty_data):
    X_train = novelty_data[0]
    det = _fit(X_train, max_iter=3, warm_start=True, early_stopping=False)
    vae = det.vae_
    det.fit(X_train)
    assert det.vae_ is vae and det.n_iter_ == 6


def test_bernoulli_needs_unit_interval():
    X = np.random.RandomState(0).rand(30, 4) * 2
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        _detector(likelihood="bernoulli").fit(X)
    det = _detector(likelihood="bernoulli").fit(X / 2)
    assert det.predict(X / 2).shape == (30,)


def test_missing_values_are_the_same_in_arrays_and_tables():
    """NaN is a missing value in an array as in a DataFrame, as in
    VAETransformer: both fit, and score the same rows alike."""
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).randn(80, 4)
    X[3, 1] = X[10, 0] = X[20, 2] = np.nan
    X[30] = np.nan  # a row with nothing observed
    original = X.copy()
    df = pd.DataFrame(X, columns=list("abcd"))
    for prior in ("aggregate", "standard_normal"):
        a = _fit(X, max_iter=3, prior=prior)
        b = _fit(df, max_iter=3, prior=prior)
        scores = a.score_samples(X)
        assert np.all(np.isfinite(scores)) and np.isfinite(a.offset_)
        assert_allclose(b.score_samples(df), scores, rtol=1e-6)
        assert a.offset_ == pytest.approx(b.offset_)
        assert_array_equal(a.predict(X), b.predict(df))
        # A row's score covers its observed entries: scored alone, it is the
        # same; nothing observed scores (about) 0 nats, above every full row.
        assert_allclose(a.score_samples(X[3:4]), scores[3:4], rtol=1e-6)
        assert scores[30] > np.max(np.delete(scores, [3, 10, 20, 30]))
    assert_array_equal(X, original)
    with pytest.raises(ValueError, match="infinity"):
        _fit(np.where(np.isnan(X), np.inf, X), max_iter=2)


def test_a_table_with_gaps_fits_and_unseen_categories_are_refused():
    """A table's missing value (NaN, None, pd.NA) is missing; a category
    unseen in fit is an error, not a missing value."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    df = pd.DataFrame(
        {
            "x": rng.randn(60),
            "y": rng.randn(60),
            "kind": pd.Categorical(rng.choice(["a", "b"], size=60)),
        }
    )
    original = df.copy()
    detector = _fit(df, max_iter=2)
    assert detector.predict(df).shape == (60,)
    gap = df.copy()
    gap.loc[3, "y"] = np.nan
    gap.loc[4, "kind"] = None
    assert np.all(np.isfinite(_fit(gap, max_iter=2).score_samples(gap)))
    assert np.all(np.isfinite(detector.score_samples(gap)))
    unseen = df.astype({"kind": object})
    unseen.loc[0, "kind"] = "c"
    with pytest.raises(ValueError, match=r"'kind' holds categories not seen.*'c'"):
        detector.predict(unseen)
    pd.testing.assert_frame_equal(df, original)
    # Columns labelled by numbers (pd.DataFrame(array)) are checked alike.
    numbered = _fit(df.set_axis([0, 1, 2], axis=1), max_iter=2)
    with pytest.raises(ValueError, match=r"Column 2 holds categories not seen"):
        numbered.predict(unseen.set_axis([0, 1, 2], axis=1))


def test_a_nullable_integer_gap_is_a_missing_value():
    """pd.NA (nullable dtypes) counts as missing, as NaN does."""
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    x = rng.randn(60)
    counts = pd.array(list(rng.randint(0, 5, 59)) + [None], dtype="Int64")
    with_na = pd.DataFrame({"x": x, "n": counts})
    with_nan = pd.DataFrame({"x": x, "n": counts.to_numpy(float, na_value=np.nan)})
    assert_allclose(
        _fit(with_na, max_iter=2).score_samples(with_na),
        _fit(with_nan, max_iter=2).score_samples(with_nan),
        rtol=1e-6,
    )


def test_max_samples_resolves_and_subsamples():
    """'auto' trains on min(1024, n) rows drawn at random, an int on that many,
    a float on that fraction; every row is still scored; the draw follows
    random_state."""
    big = np.random.RandomState(1).randn(1100, 3)
    assert _detector(max_iter=1).fit(big).max_samples_ == 1024
    X = np.random.RandomState(0).randn(700, 3)
    det = _detector(max_iter=1).fit(X)
    assert det.max_samples_ == 700
    assert det.score_samples(X).shape == (700,)
    assert _detector(max_iter=1, max_samples=100).fit(X).max_samples_ == 100
    assert _detector(max_iter=1, max_samples=0.5).fit(X).max_samples_ == 350
    assert _detector(max_iter=1, max_samples=1.0).fit(X).max_samples_ == 700
    with pytest.warns(UserWarning, match="max_samples"):
        assert _detector(max_iter=1, max_samples=900).fit(X).max_samples_ == 700
    one = {"max_iter": 1, "n_estimators": 1}
    a, b = (_detector(max_samples=100, **one).fit(X) for _ in range(2))
    assert_array_equal(a.score_samples(X), b.score_samples(X))
    # the same detector as one fitted on its sample alone
    rows = np.sort(np.random.RandomState(0).choice(700, 100, replace=False))
    alone = _detector(max_samples=1.0, **one).fit(X[rows])
    assert_allclose(alone.score_samples(X), a.score_samples(X))
    assert alone.offset_ == pytest.approx(a.offset_)


def test_kept_rows_of_the_trimmed_likelihood():
    """A float leaves out that fraction of the rows with the lowest scores (a
    non-finite one first); 'auto' leaves out those below Q1 - 1.5 IQR."""
    import torch

    from skvae._outlier import _kept_rows

    scores = torch.tensor([0.0, -1.0, 1.0, 2.0, -50.0, float("nan"), 3.0, 0.5])
    assert _kept_rows(scores, 0.0) is None
    kept = set(_kept_rows(scores, 0.25).tolist())
    assert kept == {0, 1, 2, 3, 6, 7}
    finite = scores[torch.isfinite(scores)]
    q1, q3 = np.percentile(finite.numpy(), [25, 75])
    expected = np.flatnonzero(
        np.nan_to_num(scores.numpy(), nan=-np.inf) >= q1 - 1.5 * (q3 - q1)
    )
    assert_array_equal(_kept_rows(scores, "auto").numpy(), expected)
    assert 4 not in expected and 5 not in expected
    assert _kept_rows(torch.arange(8.0), "auto") is None  # no far-out row


def test_trimmed_loss_is_the_loss_of_the_kept_rows(novelty_data):
    """The training loss of a trimmed fit is the plain loss of the rows kept."""
    import torch

    from skvae._outlier import _kept_rows

    X_train = novelty_data[0]
    det = _fit(X_train, max_iter=1, trim_fraction=0.2)
    net = det.vae_.net_
    log_px = torch.randn(4, 10, dtype=torch.float64)
    kl = torch.rand(10, 2, dtype=torch.float64)
    kept = _kept_rows(log_px.mean(0) - kl.sum(1), 0.2)
    assert len(kept) == 8
    trimmed = net.get_loss((log_px, kl, None), training=True)
    plain = (
        type(net)
        .__mro__[1]
        .get_loss(net, (log_px[:, kept], kl[kept], None), training=True)
    )
    assert float(trimmed) == pytest.approx(float(plain))


def test_untrimmed_fit_on_every_row_is_vae_transformers(novelty_data):
    """trim_fraction=0 and max_samples=1.0: the VAE is VAETransformer's, with
    early stopping and no refit."""
    X_train, X_test, _ = novelty_data
    det = _fit(X_train, trim_fraction=0.0, max_samples=1.0)
    params = {k: v for k, v in det.get_params().items() if k not in _OWN_PARAMS}
    vae = VAETransformer(**{**params, "early_stopping": True}).fit(X_train)
    assert_allclose(vae.transform(X_test), det.vae_.transform(X_test))


def _cluster_among_normal_rows():
    """300 normal training rows and a tight cluster of 30 anomalies (9 %);
    test rows: 100 normal, 10 of the cluster (y = 1)."""
    rng = np.random.RandomState(0)
    normal = rng.randn(400, 4)
    cluster = 4.0 + 0.05 * rng.randn(40, 4)
    X_train = np.vstack([normal[:300], cluster[:30]])
    X_test = np.vstack([normal[300:], cluster[30:]])
    y = np.r_[np.zeros(100), np.ones(10)]
    return X_train, X_test, y


def test_trimming_resists_a_cluster_of_anomalies():
    """A tight cluster of anomalies among the training rows (9 %): the plain
    ELBO learns it as normal; trimmed at 10 %, the VAE leaves it out and
    ranks new rows of that cluster below the normal rows."""
    X_train, X_test, y = _cluster_among_normal_rows()
    params = {"max_iter": 30, "hidden_layer_sizes": (16,)}
    plain = _detector(trim_fraction=0.0, **params).fit(X_train)
    trimmed = _detector(trim_fraction=0.1, **params).fit(X_train)
    assert roc_auc_score(y, -plain.score_samples(X_test)) < 0.8
    assert roc_auc_score(y, -trimmed.score_samples(X_test)) > 0.95


def test_default_trimming_leaves_out_a_fixed_share_of_each_minibatch():
    """By default each minibatch's loss leaves out its 10 % least likely
    rows, however many anomalies it holds (a fraction, not a fence)."""
    import torch

    det = _detector(max_iter=1).fit(np.random.RandomState(0).randn(60, 3))
    assert det.trim_fraction == 0.1
    net = det.vae_.net_
    assert net.trim == 0.1
    log_px = torch.randn(2, 40, dtype=torch.float64)
    log_px[:, :12] -= 100.0  # 30 % far-out rows: 4 of them are trimmed
    kl = torch.zeros(40, 2, dtype=torch.float64)
    trimmed = net.get_loss((log_px, kl, None), training=True)
    kept = torch.argsort(log_px.mean(0), descending=True)[:36]
    plain = (
        type(net)
        .__mro__[1]
        .get_loss(net, (log_px[:, kept], kl[kept], None), training=True)
    )
    assert float(trimmed) == pytest.approx(float(plain))


def test_default_resists_a_cluster_of_anomalies():
    """At its defaults, a cluster of anomalies among the training rows (9 %)
    is ranked below the normal rows."""
    X_train, X_test, y = _cluster_among_normal_rows()
    det = _detector(max_iter=30, hidden_layer_sizes=(16,)).fit(X_train)
    assert roc_auc_score(y, -det.score_samples(X_test)) > 0.95


def test_a_row_whose_code_overflows_scores_minus_inf(novelty_data):
    """A row so far out that its code overflows float32 is the least likely
    (score -inf), not an error."""
    X_train, X_test, _ = novelty_data
    det = _fit(X_train.astype(np.float32), max_iter=3)
    far = np.full((1, X_train.shape[1]), 1e30, dtype=np.float32)
    scores = det.score_samples(np.vstack([X_test.astype(np.float32), far]))
    assert scores[-1] == -np.inf or scores[-1] < scores[:-1].min()


def test_members_average_their_scores():
    """n_estimators VAEs on their own samples: the detector's score is the
    mean of the members' scores."""
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    det = _detector(n_estimators=3, max_samples=80).fit(X)
    assert len(det.estimators_) == 3
    assert det.vae_ is det.estimators_[0].vae_
    members = [m.score_samples(X) for m in det.estimators_]
    assert not np.allclose(members[0], members[1])  # other samples, seeds
    assert_allclose(det.score_samples(X), np.mean(members, axis=0), rtol=1e-6)
    assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)
    # the scores set after fit reach every member
    det.set_params(score_type="reconstruction_probability")
    members = [m.score_samples(X) for m in det.estimators_]
    assert_allclose(det.score_samples(X), np.mean(members, axis=0), rtol=1e-6)


def test_auto_offset_of_an_ensemble_is_the_fence_of_its_pooled_held_out_rows():
    """contamination='auto' with several members: Tukey's fence of the
    ensemble's own (averaged) score on the rows some member held out of its
    training, not the mean of the members' fences (an average of scores
    spreads less than one member's: those fences flag almost nothing)."""
    X = np.random.RandomState(0).randn(300, 3)
    det = _detector(n_estimators=2, validation_fraction=0.2).fit(X)
    held_out = [m._held_out_rows for m in det.estimators_]
    assert all(len(rows) == 60 for rows in held_out)  # rows of X, per member
    pooled = np.unique(np.concatenate(held_out))
    assert det.offset_ == pytest.approx(_fence(det.score_samples(X[pooled])))
    # each member's own threshold is the fence of its own held-out rows
    for member, rows in zip(det.estimators_, held_out):
        fence = _fence(member.score_samples(X[rows]))
        assert member.offset_ == pytest.approx(fence)
    # on a subsample, held-out rows are mapped back to the rows of X
    sampled = _detector(n_estimators=2, max_samples=200).fit(X)
    for member in sampled.estimators_:
        unseen = member.vae_._unseen_rows
        rows = member._sample_rows[unseen]
        assert_array_equal(member._held_out_rows, rows)
        assert member.offset_ == pytest.approx(
            _fence(member.score_samples(X[rows])), rel=1e-5
        )


@pytest.mark.parametrize(
    "check",
    [check_outliers_train, check_outliers_fit_predict],
    ids=lambda c: c.__name__,
)
def test_default_detector_flags_some_of_sklearn_s_training_rows(check):
    """The checks that want predict to flag some training rows pass at the
    defaults (two members), not only for the small detectors above."""
    check(VAEOutlierDetector.__name__, VAEOutlierDetector(random_state=0))


def test_one_member_is_the_first_member_of_more():
    """The first member is seeded with random_state itself: n_estimators=1
    fits the VAE that a larger ensemble's first member fits."""
    X = np.random.RandomState(1).randn(100, 3)
    one = _detector(n_estimators=1).fit(X)
    three = _detector(n_estimators=3).fit(X)
    assert len(one.estimators_) == 1
    assert_allclose(
        one.score_samples(X), three.estimators_[0].score_samples(X), rtol=1e-6
    )
    assert one.offset_ == pytest.approx(three.estimators_[0].offset_)


def test_float_contamination_flags_that_fraction_of_an_ensembles_rows():
    X = np.random.RandomState(2).randn(200, 3)
    det = _detector(n_estimators=2, contamination=0.1).fit(X)
    assert np.mean(det.predict(X) == -1) == pytest.approx(0.1, abs=0.01)


def test_ensemble_persists_clones_and_warm_starts():
    X = np.random.RandomState(3).randn(100, 3)
    det = _detector(n_estimators=2).fit(X)
    again = pickle.loads(pickle.dumps(det))
    assert_allclose(again.score_samples(X), det.score_samples(X))
    assert clone(det).get_params()["n_estimators"] == 2
    assert not hasattr(clone(det), "estimators_")
    vaes = [m.vae_ for m in det.estimators_]
    det.set_params(warm_start=True, max_iter=1).fit(X)
    assert [m.vae_ for m in det.estimators_] == vaes  # each member continued


def test_auto_networks_are_small_up_to_the_auto_sample():
    """hidden_layer_sizes='auto': (64, 64) on up to 1,024 training rows (the
    'auto' sample), VAETransformer's rule above."""
    rng = np.random.RandomState(0)
    fast = {"max_iter": 1, "n_estimators": 1, "random_state": 0}
    det = VAEOutlierDetector(**fast).fit(rng.randn(1100, 2))
    assert det.max_samples_ == 1024 and det.vae_.hidden_layer_sizes == (64, 64)
    whole = VAEOutlierDetector(max_samples=1.0, **fast).fit(rng.randn(1100, 2))
    assert whole.vae_.hidden_layer_sizes == "auto"
    assert whole.vae_._hidden_layer_sizes() == (256, 256)


def test_auto_budget_is_at_most_120_epochs():
    """max_iter='auto': 30 iterations of a 600-row sample (4 epochs each),
    fewer on a small table, whose iterations are more epochs."""
    from skvae._outlier import AUTO_MAX_EPOCHS, AUTO_MAX_ITER

    small = {"n_components": 2, "hidden_layer_sizes": (8,), "random_state": 0}
    rng = np.random.RandomState(0)
    for n_rows, iterations in ((60, 7), (200, 15), (600, AUTO_MAX_ITER)):
        det = VAEOutlierDetector(**small).fit(rng.randn(n_rows, 3))
        assert det.vae_.max_iter == iterations
        assert det.n_iter_ <= iterations
    assert 7 * 16 <= AUTO_MAX_EPOCHS < 8 * 16

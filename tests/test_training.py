"""Training controls, with MLPRegressor's names and meanings where they exist.

early stopping and the loss-plateau rule, ConvergenceWarning, KL warm-up, free
bits, warm_start, partial_fit, verbosity and the per-epoch history.
"""

import copy
import warnings

import numpy as np
import pytest
import torch
from shared import fast
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer

FAST = fast(hidden_layer_sizes=(16,), without=["max_iter"])


def _kl_weights(vae):
    """The KL weight each epoch trained with, read back from the loss parts.

    Without free bits, every batch's loss is ``reconstruction + w * kl`` and
    skorch averages the three with the same batch weights, so the epoch means
    obey the same identity.
    """
    h = vae.net_.history
    loss = np.array(h[:, "train_loss"])
    rec = np.array(h[:, "train_reconstruction"])
    kl = np.array(h[:, "train_kl"])
    return (loss - rec) / kl


# ------------------------------------------------------------------ stopping


def test_early_stopping_stops_on_plateau_and_restores_best_weights(X_gauss):
    # Student-t: no factor-analysis start, whose weights (epoch 0) would be
    # a candidate too (test_factor_analysis_start_is_a_candidate).
    params = dict(
        FAST,
        likelihood="student_t",
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
        tol=0.0,
        learning_rate=1e-2,
        max_iter=300,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        vae = VAETransformer(**params).fit(X_gauss)
    assert vae.n_iter_ < 300
    scores = vae.validation_scores_
    assert len(scores) == vae.n_iter_ == len(vae.loss_curve_)
    best_epoch = int(np.argmax(scores)) + 1
    assert vae.best_validation_score_ == max(scores)
    # MLPRegressor's rule: stop after n_iter_no_change epochs without a gain.
    assert vae.n_iter_ == best_epoch + 3
    # The restored weights are those of the best epoch: the same run cut off
    # there (same seed, same split, same batches) gives the same model.
    cut = VAETransformer(**{**params, "max_iter": best_epoch}).fit(X_gauss)
    np.testing.assert_array_equal(vae.transform(X_gauss), cut.transform(X_gauss))
    last = vae.net_.history[-1]
    assert {"valid_loss", "valid_elbo", "valid_reconstruction", "valid_kl"} <= set(last)


def test_fit_keeps_the_moving_average_of_its_iterates(X_gauss, monkeypatch):
    # The weights a fit ends with are the exponential moving average of the
    # weights after each Adam step (WeightAverage), while every step trains
    # on from the last iterate, never from the average.
    from skvae import _net

    before, after = [], []
    step = _net.VAENet.train_step

    def spy(self, batch, **kwargs):
        before.append([p.detach().clone() for p in self.module_.parameters()])
        loss = step(self, batch, **kwargs)
        after.append([p.detach().clone() for p in self.module_.parameters()])
        return loss

    monkeypatch.setattr(_net.VAENet, "train_step", spy)
    vae = VAETransformer(
        **dict(FAST, early_stopping=False, max_iter=3, n_iter_no_change=10)
    ).fit(X_gauss)
    assert vae.n_iter_ == 3
    for last, first in zip(after[:-1], before[1:]):
        for a, b in zip(last, first):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    steps_per_iteration = len(after) // vae.n_iter_
    weight = 1 / (_net.AVERAGE_ITERS * steps_per_iteration)
    average = before[0]
    for weights in after:
        average = [(1 - weight) * m + weight * w for m, w in zip(average, weights)]
    for kept, expected in zip(vae.net_.module_.parameters(), average):
        torch.testing.assert_close(kept.detach(), expected, rtol=1e-5, atol=1e-6)
    # and not the last iterate
    assert not torch.equal(next(vae.net_.module_.parameters()), after[-1][0])
    # the run's tensors are not kept with the fitted model
    average_callback = dict(vae.net_.callbacks_)["weight_average"]
    assert average_callback.average_ is None and average_callback.last_ is None


def test_factor_analysis_start_is_factor_analysis():
    """A Gaussian VAE starts as FactorAnalysis: every importance weight is
    then FA's exact likelihood of the row (the posterior is exact), and the
    ELBO's mean is FA's log-likelihood."""
    from sklearn.decomposition import FactorAnalysis

    rng = np.random.RandomState(0)
    X = rng.randn(300, 2) @ rng.randn(2, 6) + 0.5 * rng.randn(300, 6) + 3.0
    # One epoch at a negligible learning rate: the start, trained by nothing.
    vae = VAETransformer(
        n_components=2, max_iter=1, learning_rate=1e-12, early_stopping=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae.fit(X)
    fa = FactorAnalysis(2, tol=1e-8, max_iter=10_000).fit(X)
    iw = vae.score_samples_iw(X, n_importance_samples=2)
    # 0.1: the start's FactorAnalysis stops at sklearn's default tol=1e-2.
    np.testing.assert_allclose(iw, fa.score_samples(X), atol=0.1)
    assert np.abs(iw - fa.score_samples(X)).mean() < 0.02
    assert vae.score(X) == pytest.approx(fa.score(X), abs=0.02)


def test_factor_analysis_start_fits_the_rows_moments():
    """The start's FactorAnalysis runs on 2 p rows with the training rows'
    mean and covariance: the same fit, stopped at the same iteration, as on
    the rows themselves."""
    from sklearn.decomposition import FactorAnalysis

    from skvae._factory import _moment_rows

    rng = np.random.RandomState(0)
    U = rng.randn(400, 3) @ rng.randn(3, 8) + rng.randn(400, 8) * rng.rand(8) + 1.0
    rows, tol = _moment_rows(U, 1e-2)
    assert rows.shape == (16, 8)
    np.testing.assert_allclose(rows.mean(axis=0), U.mean(axis=0))
    np.testing.assert_allclose(np.cov(rows.T, bias=True), np.cov(U.T, bias=True))
    full = FactorAnalysis(3, svd_method="lapack").fit(U)
    moments = FactorAnalysis(3, tol=tol, svd_method="lapack").fit(rows)
    assert moments.n_iter_ == full.n_iter_
    np.testing.assert_allclose(moments.noise_variance_, full.noise_variance_)
    np.testing.assert_allclose(moments.mean_, full.mean_)
    np.testing.assert_allclose(
        np.abs(moments.components_), np.abs(full.components_), atol=1e-10
    )
    # No more rows than 2 p: the rows themselves.
    few = U[:16]
    same, same_tol = _moment_rows(few, 1e-2)
    assert same is few and same_tol == 1e-2


def test_factor_analysis_start_leaves_the_held_out_rows_out(monkeypatch):
    """Early stopping's held-out rows judge the start, so the start is the
    factor analysis of the training rows only (rows it was fitted on would
    favour it); the model refitted on every row starts from them all."""
    import skvae._factory
    import skvae._net

    starts, splits = [], []
    fa_start, split = skvae._factory.factor_analysis_start, skvae._net.validation_split

    def record_start(module, X_init, *args, rows=None, **kwargs):
        starts.append(np.array(X_init if rows is None else X_init[rows]))
        return fa_start(module, X_init, *args, rows=rows, **kwargs)

    def record_split(*args):
        splits.append(split(*args))
        return splits[-1]

    monkeypatch.setattr(skvae._factory, "factor_analysis_start", record_start)
    monkeypatch.setattr(skvae._net, "validation_split", record_split)
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2) @ rng.randn(2, 6) + 0.5 * rng.randn(200, 6)
    VAETransformer(n_components=2, max_iter=2, random_state=0).fit(X)
    ((train, held_out),) = splits
    selection_start, refit_start = starts
    np.testing.assert_array_equal(selection_start, X[np.sort(train)])
    assert len(held_out) == 40  # validation_fraction='auto' before a refit: 0.2
    np.testing.assert_array_equal(refit_start, X)


@pytest.mark.parametrize(
    "n_rows, params, held_out",
    [
        (200, {}, 40),  # refitted on all rows: a fifth held out
        (200, {"early_stopping": True}, 20),  # the selection run is the model
        (200, {"validation_fraction": 0.3}, 60),
        (90, {}, 0),  # 0.1 of 90 rows makes 9: no early stopping, as before
        (91, {}, 19),
        (60, {"early_stopping": True}, 6),  # no refit: 0.1
    ],
)
def test_auto_validation_fraction_doubles_before_a_refit(
    monkeypatch, n_rows, params, held_out
):
    """validation_fraction='auto' holds out 0.2 of the rows when the model is
    refitted on all of them (they cost it no training rows), else 0.1; whether
    early_stopping='auto' holds rows out at all is decided at 0.1."""
    import skvae._net

    splits, split = [], skvae._net.validation_split
    monkeypatch.setattr(
        skvae._net,
        "validation_split",
        lambda *a: splits.append(split(*a)) or splits[-1],
    )
    X = np.random.RandomState(0).randn(n_rows, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        VAETransformer(n_components=1, max_iter=2, random_state=0, **params).fit(X)
    assert sum(len(valid) for _, valid in splits) == held_out


def test_auto_validation_fraction_without_a_refit_is_a_tenth(monkeypatch):
    """Above REFIT_MAX_ROWS the early-stopped model is kept: 'auto' then holds
    out 0.1, the rows the model does not train on."""
    import skvae._base

    monkeypatch.setattr(skvae._base, "REFIT_MAX_ROWS", 150)
    X = np.random.RandomState(0).randn(200, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = VAETransformer(n_components=1, max_iter=2, random_state=0).fit(X)
    assert len(fitted._unseen_rows) == 20
    vae = VAETransformer(n_components=1)

    def fraction(n_rows, method):
        return vae._validation_fraction(vae._refits(n_rows, method))

    assert fraction(200, "fit") == 0.1
    assert fraction(150, "fit") == 0.2
    assert fraction(150, "partial_fit") == 0.1


def test_a_warm_start_holds_out_a_tenth(monkeypatch):
    """A warm start continues its model without a refit on all the rows, so
    validation_fraction='auto' holds out 0.1 there, as without a refit."""
    import skvae._net

    splits, split = [], skvae._net.validation_split
    monkeypatch.setattr(
        skvae._net,
        "validation_split",
        lambda *a: splits.append(split(*a)) or splits[-1],
    )
    X = np.random.RandomState(0).randn(200, 3)
    vae = VAETransformer(n_components=1, max_iter=2, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae.fit(X).fit(X)
    assert [len(valid) for _, valid in splits] == [40, 20]


def test_factor_analysis_start_is_a_candidate(X_gauss):
    """Early stopping keeps the start (epoch 0) when no epoch beats it."""
    params = dict(FAST, early_stopping=True, n_iter_no_change=2, learning_rate=0.5)
    vae = VAETransformer(**params).fit(X_gauss)
    assert vae.best_validation_score_ >= max(vae.validation_scores_)


def test_without_early_stopping_the_training_loss_plateau_stops(X_gauss):
    # No epoch can improve the training loss by tol=1e6 nats: the rule fires
    # n_iter_no_change epochs after the first.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        vae = VAETransformer(**FAST, tol=1e6, n_iter_no_change=2, max_iter=50).fit(
            X_gauss
        )
    assert vae.n_iter_ == 3
    assert vae.validation_scores_ is None and vae.best_validation_score_ is None
    assert "valid_elbo" not in vae.net_.history[-1]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_convergence_warning_when_max_iter_ends_training(X_gauss, early_stopping):
    vae = VAETransformer(**FAST, max_iter=2, early_stopping=early_stopping)
    monitor = "held-out ELBO" if early_stopping else "training loss"
    with pytest.warns(ConvergenceWarning, match=monitor):
        vae.fit(X_gauss)
    assert vae.n_iter_ == 2


def test_history_records_elbo_terms_per_epoch(X_gauss):
    vae = VAETransformer(**FAST, max_iter=4).fit(X_gauss)
    h = vae.net_.history
    assert len(h) == 4
    for row in h:
        assert {
            "epoch",
            "train_loss",
            "train_reconstruction",
            "train_kl",
            "train_elbo",
            "dur",
        } <= set(row)
        assert row["train_elbo"] == pytest.approx(
            -(row["train_reconstruction"] + row["train_kl"])
        )
    np.testing.assert_allclose(vae.loss_curve_, h[:, "train_loss"])


# ------------------------------------------------------- warm-up, free bits


def test_kl_warmup_ramps_beta_linearly_then_holds(X_gauss):
    vae = VAETransformer(n_components=3, beta=2.0, kl_warmup=4, max_iter=6, **FAST).fit(
        X_gauss
    )
    np.testing.assert_allclose(
        _kl_weights(vae), [0.5, 1.0, 1.5, 2.0, 2.0, 2.0], rtol=1e-3
    )
    assert vae.net_.kl_weight() == 2.0
    # Without warm-up every epoch trains with beta.
    plain = VAETransformer(n_components=3, beta=2.0, max_iter=3, **FAST).fit(X_gauss)
    np.testing.assert_allclose(_kl_weights(plain), [2.0] * 3, rtol=1e-3)


def test_kl_warmup_epochs_do_not_count_for_stopping(X_gauss):
    # tol=1e6: nothing ever improves. Without warm-up the rule fires at
    # epoch 3; with a 10-epoch warm-up it only starts counting at epoch 10.
    params = dict(FAST, tol=1e6, n_iter_no_change=2, max_iter=50)
    vae = VAETransformer(kl_warmup=10, **params).fit(X_gauss)
    assert vae.n_iter_ == 12
    vae = VAETransformer(
        kl_warmup=10, early_stopping=True, validation_fraction=0.25, **params
    ).fit(X_gauss)
    assert vae.n_iter_ == 12
    # The weights kept are from the first epoch with the full beta.
    assert vae.best_validation_score_ == vae.validation_scores_[9]


def test_free_bits_floor_each_dimension_kl_in_the_loss_only(X_gauss):
    vae = VAETransformer(n_components=2, free_bits=50.0, max_iter=3, **FAST).fit(
        X_gauss
    )
    h = vae.net_.history
    loss = np.array(h[:, "train_loss"])
    rec = np.array(h[:, "train_reconstruction"])
    kl = np.array(h[:, "train_kl"])
    # Every dimension's KL is far below 50 nats, so the loss charges exactly
    # 2 x 50 nats for it (and gives the KL no gradient) ...
    assert np.all(kl < 50)
    np.testing.assert_allclose(loss - rec, 100.0, rtol=1e-5)
    # ... while the recorded ELBO and the score stay the plain ELBO.
    np.testing.assert_allclose(h[:, "train_elbo"], -(rec + kl))
    assert np.isfinite(vae.score(X_gauss))


def test_free_bits_below_the_kl_change_nothing(X_gauss):
    a = VAETransformer(n_components=2, max_iter=2, **FAST).fit(X_gauss)
    b = VAETransformer(n_components=2, free_bits=1e-12, max_iter=2, **FAST).fit(X_gauss)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)


# ------------------------------------------------- warm_start, partial_fit


def test_warm_start_continues_training(X_gauss):
    vae = VAETransformer(max_iter=5, warm_start=True, learning_rate=1e-2, **FAST).fit(
        X_gauss
    )
    first_curve = list(vae.loss_curve_)
    weights = vae.net_.module_.encoder.z_loc_layer.weight.detach().clone()
    vae.fit(X_gauss)
    assert vae.n_iter_ == 10 and len(vae.loss_curve_) == 10
    assert vae.loss_curve_[:5] == first_curve
    # Not restarted from scratch: it goes on from where it stopped.
    assert vae.loss_curve_[5] < first_curve[0]
    trained = copy.deepcopy(vae.net_.module_.state_dict())
    vae.set_params(learning_rate=1e-12, max_iter=1).fit(X_gauss)
    for key, value in vae.net_.module_.state_dict().items():
        torch.testing.assert_close(value, trained[key], rtol=1e-6, atol=1e-6)
    assert not np.allclose(
        weights, vae.net_.module_.encoder.z_loc_layer.weight.detach()
    )


def test_without_warm_start_refit_starts_over(X_gauss):
    vae = VAETransformer(max_iter=3, **FAST).fit(X_gauss)
    Z = vae.transform(X_gauss)
    vae.fit(X_gauss)
    assert vae.n_iter_ == 3
    np.testing.assert_array_equal(Z, vae.transform(X_gauss))


def test_warm_start_honours_changed_parameters(X_gauss):
    """set_params between warm-started fits applies (beta schedules, lr decay)."""
    vae = VAETransformer(n_components=3, max_iter=2, warm_start=True, **FAST).fit(
        X_gauss
    )
    vae.set_params(beta=3.0, learning_rate=1e-4, batch_size=8)
    vae.fit(X_gauss)
    np.testing.assert_allclose(_kl_weights(vae), [1.0, 1.0, 3.0, 3.0], rtol=1e-3)
    assert vae.net_.optimizer_.param_groups[0]["lr"] == 1e-4
    assert vae.net_.history[-1, "batches", 0, "train_batch_size"] == 8


def test_partial_fit_one_epoch_per_chunk(X_gauss):
    vae = VAETransformer(n_components=2, learning_rate=1e-2, **FAST)
    chunks = np.array_split(X_gauss, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for n_pass in range(3):
            for i, chunk in enumerate(chunks):
                vae.partial_fit(chunk)
                assert vae.n_iter_ == 4 * n_pass + i + 1
    assert len(vae.loss_curve_) == 12
    # Each call passes once over its rows only.
    assert sum(b["train_batch_size"] for b in vae.net_.history[-1, "batches"]) == 10
    # It learns: the third pass over the chunks beats the first.
    assert np.mean(vae.loss_curve_[8:]) < np.mean(vae.loss_curve_[:4])
    assert vae.transform(X_gauss).shape == (40, 2)
    with pytest.raises(ValueError, match="features"):
        vae.partial_fit(X_gauss[:, :3])
    assert vae.n_iter_ == 12


def test_partial_fit_after_fit_continues(X_gauss):
    vae = VAETransformer(max_iter=3, **FAST).fit(X_gauss)
    vae.partial_fit(X_gauss[:20])
    assert vae.n_iter_ == 4


def test_partial_fit_keeps_warming_up(X_gauss):
    vae = VAETransformer(n_components=3, kl_warmup=3, **FAST)
    for _ in range(4):
        vae.partial_fit(X_gauss)
    np.testing.assert_allclose(_kl_weights(vae), [1 / 3, 2 / 3, 1.0, 1.0], rtol=1e-3)


# ------------------------------------------------------------------ verbose


def test_verbose_0_is_silent(X_gauss, capsys):
    VAETransformer(max_iter=3, verbose=0, **FAST).fit(X_gauss)
    VAETransformer(max_iter=3, early_stopping=True, **FAST).fit(X_gauss)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_verbose_1_shows_a_progress_bar_on_stderr(X_gauss, capsys):
    VAETransformer(max_iter=3, verbose=1, **FAST).fit(X_gauss)
    out, err = capsys.readouterr()
    assert out == ""
    assert "3/3" in err and "iteration" in err
    for name in ("loss=", "rec=", "kl="):
        assert name in err
    VAETransformer(max_iter=2, verbose=1, early_stopping=True, **FAST).fit(X_gauss)
    assert "val_elbo=" in capsys.readouterr().err


def test_verbose_1_labels_the_refit_s_bar(capsys):
    # early_stopping='auto' on a few hundred rows: a run that watches held-out
    # rows, then a refit on all of them; its bar says what it is.
    X = load_digits().data[:200] / 16
    VAETransformer(likelihood="bernoulli", verbose=1, **fast(max_iter=4)).fit(X)
    err = capsys.readouterr().err
    assert "val_elbo=" in err
    assert "refit on all rows" in err


def test_refit_replays_the_selection_run_s_step_sizes(monkeypatch):
    # early_stopping='auto' on a few hundred rows: the refit on all rows takes,
    # iteration by iteration, the step sizes with which the selection run
    # reached the weights it kept (its plateau rule divided them).
    from skvae import _net

    runs = []
    run = _net.VAENet.run

    def spy(self, X, plan, seed):
        outcome = run(self, X, plan, seed=seed)
        sizes = [row.get("event_lr") for row in self.history]
        runs.append((plan, outcome, sizes))
        return outcome

    monkeypatch.setattr(_net.VAENet, "run", spy)
    X = load_digits().data[:300] / 16
    VAETransformer(n_components=4, learning_rate=0.05, **fast(max_iter=12)).fit(X)
    (_, selection, selected), (plan, refit, replayed) = runs
    assert selection.best_epoch == refit.epochs == plan.epochs == len(replayed)
    # the first iteration warms the step size up, from the same start, in both
    assert replayed[0] == pytest.approx(selected[0])
    assert replayed[0] < plan.learning_rate
    assert plan.step_sizes[1:] == tuple(selected[1 : selection.best_epoch])
    assert replayed[1:] == pytest.approx(selected[1 : selection.best_epoch])


def test_verbose_2_prints_a_table_of_epochs(X_gauss, capsys):
    vae = VAETransformer(max_iter=3, verbose=2, **FAST).fit(X_gauss)
    out, _ = capsys.readouterr()
    for column in ("epoch", "train_loss", "train_reconstruction", "train_kl"):
        assert column in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3
    # Turning it down on a warm-started model silences it.
    vae.set_params(verbose=0)
    vae.partial_fit(X_gauss)
    assert capsys.readouterr() == ("", "")


def test_fitted_model_pickles_after_verbose_fit(X_gauss):
    import pickle

    vae = VAETransformer(max_iter=2, verbose=1, **FAST).fit(X_gauss)
    clone = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(clone.transform(X_gauss), vae.transform(X_gauss))


@pytest.mark.parametrize(
    "change",
    [
        {"n_components": 3},
        {"likelihood": "bernoulli"},
        {"hidden_layer_sizes": (4,)},
        {"activation": "tanh"},
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuing_with_another_architecture_is_a_clear_error(change, method):
    X = np.random.RandomState(0).rand(30, 5)
    vae = VAETransformer(
        max_iter=2, hidden_layer_sizes=(8,), warm_start=True, random_state=0
    ).fit(X)
    Z = vae.transform(X)
    vae.set_params(**change)
    name = next(iter(change))
    with pytest.raises(ValueError, match=f"{name} from .* since they were built"):
        getattr(vae, method)(X)
    np.testing.assert_array_equal(vae.transform(X), Z)  # the fitted model is intact


def test_early_stopping_inside_warmup_reports_the_kept_weights(X_gauss):
    """Every epoch in the KL warm-up: nothing is restored, and the reported best
    score is the last epoch's, whose weights are kept."""
    vae = VAETransformer(early_stopping=True, kl_warmup=10, max_iter=3, **FAST).fit(
        X_gauss
    )
    assert vae.best_validation_score_ == vae.validation_scores_[-1]


def test_warm_start_warns_about_its_own_epochs_only(X_gauss):
    vae = VAETransformer(max_iter=3, warm_start=True, n_iter_no_change=50, **FAST)
    with pytest.warns(ConvergenceWarning):
        vae.fit(X_gauss)
    vae.set_params(max_iter=5)
    with pytest.warns(ConvergenceWarning):
        vae.fit(X_gauss)
    assert vae.n_iter_ == 8


@pytest.mark.parametrize("face", ["VAEImputer", "VAEOutlierDetector"])
def test_faces_without_a_refit_keep_a_numeric_validation_fraction(face):
    """VAEImputer and VAEOutlierDetector keep the early-stopped model, so their
    validation_fraction is a number (default 0.1); 'auto' is refused."""
    import skvae

    estimator = getattr(skvae, face)
    assert estimator().validation_fraction == 0.1
    X = np.random.RandomState(0).randn(30, 3)
    with pytest.raises(ValueError, match="validation_fraction"):
        estimator(validation_fraction="auto").fit(X)

"""Hyperparameter search in parallel: torch threads limited in workers, Dask.

Dask is a test extra, never a runtime dependency of skvae.
"""

import os

import joblib
import numpy as np
import pytest
import torch
from shared import fast
from sklearn.model_selection import GridSearchCV

from skvae import VAETransformer

FAST = fast(max_iter=2)


@pytest.fixture
def torch_threads_2():
    """torch at 2 intra-op threads for one test (conftest pins 1), then back."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


class ThreadProbeEncoder(torch.nn.Module):
    """A linear encoder that records torch's thread count at each training step."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, 2 * n_components)
        self.threads_seen = []

    def forward(self, x):
        if torch.is_grad_enabled():
            self.threads_seen.append(torch.get_num_threads())
        z_loc, z_logvar = self.layer(x).chunk(2, dim=1)
        return z_loc, z_logvar


def max_threads_in_fit(estimator, X, y=None):
    """A 'scorer' returning the most torch threads any training step saw."""
    return float(max(estimator.net_.module_.encoder.threads_seen))


def _X():
    return np.random.RandomState(0).randn(48, 5)


def test_omp_num_threads_limits_torch_during_fit_then_restores(
    monkeypatch, torch_threads_2
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    vae = VAETransformer(encoder=ThreadProbeEncoder, **FAST).fit(_X())
    assert set(vae.net_.module_.encoder.threads_seen) == {1}
    assert torch.get_num_threads() == 2


def test_numpy_work_of_a_fit_takes_the_fit_s_threads(monkeypatch, torch_threads_2):
    """The factor-analysis start and the detector's GaussianMixture run
    numpy's BLAS outside torch's scope: they take the fit's one thread too,
    not torch's process-wide setting (an oversubscribed OpenBLAS made a
    start 30x slower on a busy machine)."""
    from sklearn.decomposition import FactorAnalysis
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_info

    from skvae import VAEOutlierDetector

    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    seen = []
    for cls in (FactorAnalysis, GaussianMixture):
        fit = cls.fit

        def probe(self, *args, _fit=fit, **kwargs):
            seen.append(blas_threads())
            return _fit(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", probe)
    VAETransformer(**FAST).fit(_X())
    VAEOutlierDetector(**FAST).fit(_X())
    assert seen and all(threads <= {1} for threads in seen)


def test_loky_workers_of_grid_search_do_not_oversubscribe():
    """GridSearchCV(n_jobs=2): each worker's torch uses cpu_count // 2 threads
    at most (joblib sets OMP_NUM_THREADS and thread-pool limits in loky
    workers; skvae adds its own scope for workers started otherwise)."""
    grid = GridSearchCV(
        VAETransformer(encoder=ThreadProbeEncoder, **FAST),
        {"n_components": [1, 2]},
        cv=2,
        n_jobs=2,
        scoring=max_threads_in_fit,
    ).fit(_X())
    limit = max(1, (os.cpu_count() or 1) // 2)
    assert grid.cv_results_["mean_test_score"].max() <= limit


def test_grid_search_on_dask(torch_threads_2):
    """The same search through joblib's Dask backend on a LocalCluster.

    Worker threads in this process (processes=False) start in about 0.3 s,
    against about 2 s for worker processes, and exercise the case skvae must
    handle itself: no OMP_NUM_THREADS there, so torch's threads are limited to
    one per Dask thread by skvae.
    """
    distributed = pytest.importorskip("distributed")
    X = _X()
    params = {"n_components": [1, 2], "beta": [0.5, 1.0]}
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_config(backend="dask"):
            grid = GridSearchCV(
                VAETransformer(encoder=ThreadProbeEncoder, **FAST),
                params,
                cv=2,
                n_jobs=2,
                scoring={"threads": max_threads_in_fit, "elbo": _elbo},
                refit="elbo",
            ).fit(X)
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
    assert torch.get_num_threads() == 2  # the caller's setting is untouched
    assert grid.cv_results_["mean_test_threads"].max() == 1
    assert np.all(np.isfinite(grid.cv_results_["mean_test_elbo"]))
    assert len(grid.cv_results_["params"]) == 4
    # The sequential search at the workers' one thread: float32 sums over
    # two threads round differently, and Adam turns those last bits of a
    # near-zero gradient into a full step of either sign.
    torch.set_num_threads(1)
    local = GridSearchCV(
        VAETransformer(encoder=ThreadProbeEncoder, **FAST),
        params,
        cv=2,
        scoring=_elbo,
    ).fit(X)
    # Seeded fits: the same scores as the sequential search.
    np.testing.assert_allclose(
        grid.cv_results_["mean_test_elbo"], local.cv_results_["mean_test_score"]
    )
    assert grid.best_params_ == local.best_params_


def _elbo(estimator, X, y=None):
    return estimator.score(X)

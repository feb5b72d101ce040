"""Imputation: VAEImputer against sklearn's imputers and MIWAE (issues 10, 25).

Protocol
--------
Datasets: sklearn's breast_cancer, diabetes (scaled=False), wine, digits / 16,
and adult's six numeric columns (``../shared/data/adult/adult.csv``: age,
fnlwgt, education-num, capital-gain, capital-loss, hours-per-week) on a fixed
random subsample of 3,000 of its 32,561 rows (``np.random.default_rng(0)``;
KNNImputer and the VAE's cost grow with the rows); on demand, the first 10,000
training images of Fashion-MNIST (``skvae.datasets``) as ``fmnist10k``, or
their first 2,000 as ``fmnist2k`` (KNNImputer and IterativeImputer take many
minutes per run at 10,000 x 784). Each is
standardized with a ``StandardScaler`` fitted on the *complete* data before any
entry is hidden (a constant column, e.g. a border pixel, gets scale 1 and
stays 0).

Missingness patterns (the seed draws the mask; every method sees the same
masks):

* ``mcar20`` / ``mcar30`` / ``mcar50``: exactly floor(20 % / 30 % / 50 % of
  n * p) entries, drawn uniformly without replacement (the MIWAE demo's
  protocol). A row or column may end up entirely missing; every method must
  cope.
* ``mar``: missing at random, each incomplete column driven by an observed
  one. A seeded half of the columns (floor(p / 2)) may lose entries; the
  other half stays complete, and each column of the first half is paired
  with a seeded column of the second, its driver. An entry is hidden with
  probability 0.6 where the driver's value in that row is strictly above the
  driver's median, 0.2 elsewhere: about 40 % of the incomplete columns'
  entries, 20 % of all (fewer where the driver ties at its median, e.g. a
  pixel mostly 0). Missingness depends on observed values only.
* ``mnar_top25``: self-masking censoring of large values. In a seeded half of
  the columns, every entry strictly above that column's 75th percentile is
  hidden (about 12.5 % of the entries of continuous data; fewer where many
  values tie, e.g. pixels at 0). Missingness depends on the hidden value
  itself: missing not at random.

Metric: MSE (and RMSE) over the hidden entries only, on the standardized scale,
and fit and transform times, wall and CPU, single thread. Each imputer is
fitted on the masked matrix and transforms that same matrix (transductive, as
in the MIWAE paper and sklearn's examples).

Downstream: 5-fold stratified CV accuracy of ``make_pipeline(StandardScaler(),
imputer, LogisticRegression(max_iter=5000))`` on breast_cancer with 50 % MCAR
on the raw features (the imputer is fitted on the training folds only), per
seed, and the same pipeline on the complete data as the ceiling.

Every (dataset, method) pair is stored as its own run (label
``<dataset>:<method>``, and ``downstream:<method>``) in
``results/imputation.json``, with the machine's load while it ran, so a pair
can be remeasured alone; ``--resume`` skips the pairs already stored.

Usage::

    python benchmarks/bench_imputation.py                # all but fmnist10k
    python benchmarks/bench_imputation.py --quick        # smoke run, ~2 min
    python benchmarks/bench_imputation.py --datasets wine --methods vae_iw
    python benchmarks/bench_imputation.py --datasets fmnist10k   # the full size

MIWAE runs through hyperimpute's plugin where hyperimpute is installed (it is
not in the ``benchmarks`` extra: ``pip install --no-deps hyperimpute==0.1.17``
then ``pip install loguru optuna pydantic cloudpickle``); elsewhere its rows
are skipped.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from _common import (  # noqa: E402
    Measurement,
    add_common_args,
    log,
    out_dir_of,
    read_json,
    results_dir,
    write_reports,
)
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
)
from sklearn.ensemble import ExtraTreesRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.experimental import enable_iterative_imputer  # noqa: E402, F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from skvae import VAEImputer  # noqa: E402

NAME = "imputation"

# ------------------------------------------------------------------ datasets

FMNIST_ROWS = 10_000
FMNIST_SMALL = 2_000


ADULT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "adult"
)
ADULT_ROWS = 3_000


def _adult_numeric():
    import pandas as pd

    df = pd.read_csv(os.path.join(ADULT, "adult.csv"), skipinitialspace=True)
    rows = np.random.default_rng(0).choice(len(df), size=ADULT_ROWS, replace=False)
    numeric = df.select_dtypes("number").iloc[np.sort(rows)]
    return numeric.to_numpy(dtype=np.float64), df["income"].to_numpy()[np.sort(rows)]


def _fmnist(rows):
    from skvae.datasets import load_fashion_mnist

    X, y = load_fashion_mnist("train")
    return X[:rows].astype(np.float64), y[:rows]


DATASETS = {
    "breast_cancer": (
        "sklearn load_breast_cancer (569 x 30)",
        lambda: load_breast_cancer(return_X_y=True),
    ),
    "diabetes": (
        "sklearn load_diabetes(scaled=False) (442 x 10)",
        lambda: load_diabetes(return_X_y=True, scaled=False),
    ),
    "wine": ("sklearn load_wine (178 x 13)", lambda: load_wine(return_X_y=True)),
    "digits": (
        "sklearn load_digits().data / 16 (1797 x 64)",
        lambda: (load_digits().data / 16.0, load_digits().target),
    ),
    "adult": (
        f"adult's 6 numeric columns, {ADULT_ROWS:,} rows drawn at random (seed 0) "
        f"of 32,561 ({ADULT_ROWS:,} x 6); capital-gain and capital-loss are 0 in "
        "92-95 % of rows, so the MNAR mask hides every nonzero value of those it "
        "picks (their observed values are all 0) and their few large values "
        "dominate every imputer's MSE",
        _adult_numeric,
    ),
    "fmnist10k": (
        f"Fashion-MNIST training images [:{FMNIST_ROWS:,}], pixels in [0, 1] "
        f"({FMNIST_ROWS:,} x 784)",
        lambda: _fmnist(FMNIST_ROWS),
    ),
    "fmnist2k": (
        f"Fashion-MNIST training images [:{FMNIST_SMALL:,}], pixels in [0, 1] "
        f"({FMNIST_SMALL:,} x 784): the first fifth of fmnist10k",
        lambda: _fmnist(FMNIST_SMALL),
    ),
}
DEFAULT_DATASETS = ["breast_cancer", "diabetes", "wine", "digits", "adult"]

# --------------------------------------------------------------------- masks


def mask_mcar(X, rate, rng):
    """Exactly floor(rate * n * p) entries, uniformly without replacement."""
    n, p = X.shape
    hidden = np.zeros(n * p, dtype=bool)
    hidden[rng.choice(n * p, size=int(np.floor(n * p * rate)), replace=False)] = True
    return hidden.reshape(n, p)


def mask_mar(X, rng, high=0.6, low=0.2, column_fraction=0.5):
    """Half the columns hidden with a probability set by an observed driver column."""
    n, p = X.shape
    order = rng.permutation(p)
    n_targets = int(np.floor(p * column_fraction))
    targets, drivers = order[:n_targets], order[n_targets:]
    hidden = np.zeros((n, p), dtype=bool)
    for j in targets:
        d = drivers[rng.integers(len(drivers))]
        rate = np.where(X[:, d] > np.median(X[:, d]), high, low)
        hidden[:, j] = rng.random(n) < rate
    return hidden


def mask_mnar_top(X, rng, quantile=0.75, column_fraction=0.5):
    """In a seeded fraction of the columns, every entry above the quantile."""
    n, p = X.shape
    columns = rng.permutation(p)[: int(np.floor(p * column_fraction))]
    hidden = np.zeros((n, p), dtype=bool)
    for j in columns:
        hidden[:, j] = X[:, j] > np.quantile(X[:, j], quantile)
    return hidden


PATTERNS = {
    "mcar20": ("MCAR, exactly 20 % of entries", lambda X, rng: mask_mcar(X, 0.2, rng)),
    "mcar30": ("MCAR, exactly 30 % of entries", lambda X, rng: mask_mcar(X, 0.3, rng)),
    "mcar50": ("MCAR, exactly 50 % of entries", lambda X, rng: mask_mcar(X, 0.5, rng)),
    "mar": (
        "MAR: in a seeded half of the columns, each entry hidden with probability "
        "0.6 where a seeded driver column of the other (complete) half is above "
        "its median, 0.2 elsewhere",
        mask_mar,
    ),
    "mnar_top25": (
        "MNAR self-masking: in a seeded half of the columns, every entry above "
        "the column's 75th percentile is hidden",
        mask_mnar_top,
    ),
}


def mask_rng(seed, *names):
    """An independent, reproducible stream per (seed, dataset, pattern)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


# ------------------------------------------------------------------- methods


@dataclass
class Context:
    """What a method's factory may look at to build its imputer."""

    seed: int
    n_samples: int
    n_features: int
    quick: bool = False


@dataclass
class Method:
    description: str
    factory: Callable[[Context], Any]
    skip: Callable[[Context], str | None]  # a reason not to run, or None
    downstream: bool
    family: str  # 'sklearn', 'skvae' or 'miwae'
    patterns: tuple | None  # the patterns it runs on (None: all)


METHODS = {}

# The slow baselines (minutes per run) run on the 50 % MCAR masks only, where
# the targets are.
SLOW_PATTERNS = ("mcar50",)


def register(
    name, description, factory, *, family, skip=None, downstream=True, patterns=None
):
    METHODS[name] = Method(
        description, factory, skip or (lambda ctx: None), downstream, family, patterns
    )


# IterativeImputer regresses every column on all the others, ten rounds: on
# Fashion-MNIST that is 783 predictors per column. Above this width the
# iterative methods use this many nearest features (sklearn's own knob).
WIDE = 200
N_NEAREST_WIDE = 50


def _n_nearest(ctx):
    return N_NEAREST_WIDE if ctx.n_features > WIDE else None


register(
    "mean",
    "SimpleImputer(strategy='mean')",
    lambda ctx: SimpleImputer(),
    family="sklearn",
)
register(
    "knn",
    "KNNImputer() (n_neighbors=5, uniform weights)",
    lambda ctx: KNNImputer(),
    family="sklearn",
)
register(
    "iterative",
    "IterativeImputer(random_state=seed) at its defaults (BayesianRidge, "
    f"max_iter=10, tol=1e-3); n_nearest_features={N_NEAREST_WIDE} when p > {WIDE}",
    lambda ctx: IterativeImputer(
        random_state=ctx.seed, n_nearest_features=_n_nearest(ctx)
    ),
    family="sklearn",
)
register(
    "iterative_et",
    "IterativeImputer(ExtraTreesRegressor(n_estimators=10), random_state=seed): "
    "the missForest-style variant of the MIWAE demo, with 10 trees instead of "
    "its 100 to fit the CPU budget (~8 CPU s per run on breast_cancer; 100 "
    "trees took ~90 s and scored 0.306 against 0.313 for BayesianRidge at "
    "50 % MCAR there); tables with p <= 30 only (digits: skipped, minutes per "
    "run)",
    lambda ctx: IterativeImputer(
        estimator=ExtraTreesRegressor(n_estimators=10, random_state=ctx.seed, n_jobs=1),
        random_state=ctx.seed,
        max_iter=2 if ctx.quick else 10,
    ),
    family="sklearn",
    skip=lambda ctx: "p > 30: too slow" if ctx.n_features > 30 else None,
    downstream=False,
)


def _vae(ctx, **params):
    if ctx.quick:
        params = {"max_iter": 20, "n_iw_samples": 100, **params}
    return VAEImputer(random_state=ctx.seed, **params)


register(
    "vae_iw",
    "skvae VAEImputer(random_state=seed) at its defaults: importance-weighted "
    "training (MIWAE bound, K=10)",
    _vae,
    family="skvae",
)
register(
    "vae_notmiwae",
    "skvae VAEImputer(missing_mechanism='self_masking', random_state=seed): "
    "not-MIWAE's self-masking missingness model (Ipsen et al. 2021), probit "
    "link; on the MNAR and MAR masks (MAR: what it costs when its assumption "
    "is wrong)",
    lambda ctx: _vae(ctx, missing_mechanism="self_masking"),
    family="skvae",
    downstream=False,
    patterns=("mnar_top25", "mar"),
)
register(
    "vae_elbo",
    "skvae VAEImputer(n_importance_samples=1, random_state=seed): the same, "
    "trained on the plain masked ELBO",
    lambda ctx: _vae(ctx, n_importance_samples=1),
    family="skvae",
    downstream=False,
)


class HyperimputeMIWAE(TransformerMixin, BaseEstimator):
    """sklearn estimator around hyperimpute's MIWAE plugin (Mattei & Frellsen 2019).

    Training is hyperimpute's own. Imputation (``transform``) is its
    self-normalized importance sampling with ``n_impute_samples`` draws
    (hyperimpute: 10), run without autograd and ``chunk_rows`` rows at a time
    so that wide data fits in memory; the same chunking applies to the
    imputation hyperimpute runs every 100 epochs during fit.
    """

    def __init__(
        self,
        n_epochs=500,
        batch_size=256,
        latent_size=1,
        n_hidden=1,
        K=20,
        n_impute_samples=10,
        chunk_rows=512,
        random_state=0,
    ):
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.latent_size = latent_size
        self.n_hidden = n_hidden
        self.K = K
        self.n_impute_samples = n_impute_samples
        self.chunk_rows = chunk_rows
        self.random_state = random_state

    def fit(self, X, y=None):
        from hyperimpute.plugins.imputers.plugin_miwae import MIWAEPlugin

        torch.set_num_threads(1)  # hyperimpute's import sets OMP_NUM_THREADS=2
        chunk = self.chunk_rows

        class _Chunked(MIWAEPlugin):
            def _miwae_impute(self, iota_x, mask, L):
                with torch.no_grad():
                    parts = [
                        MIWAEPlugin._miwae_impute(
                            self, iota_x[i : i + chunk], mask[i : i + chunk], L
                        )
                        for i in range(0, iota_x.shape[0], chunk)
                    ]
                return torch.cat(parts)

        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.plugin_ = _Chunked(
            n_epochs=self.n_epochs,
            batch_size=self.batch_size,
            latent_size=self.latent_size,
            n_hidden=self.n_hidden,
            K=self.K,
            random_state=self.random_state,
        )
        self.plugin_.fit(X)
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        mask = ~np.isnan(X)
        x = torch.from_numpy(np.nan_to_num(X, nan=0.0)).float()
        imputed = self.plugin_._miwae_impute(
            x, torch.from_numpy(mask), self.n_impute_samples
        ).numpy()
        out = X.copy()
        out[~mask] = imputed[~mask]
        return out


def _hyperimpute_version():
    try:
        from importlib.metadata import version

        return version("hyperimpute")
    except Exception:  # noqa: BLE001  (not installed, or broken metadata)
        return None


def _miwae_skip(max_features):
    def skip(ctx):
        if _hyperimpute_version() is None:
            return "hyperimpute not installed"
        if ctx.n_features > max_features:
            return f"p > {max_features}: too slow"
        return None

    return skip


register(
    "miwae_hi",
    "hyperimpute's 'miwae' plugin at its defaults (n_epochs=500, batch_size=256, "
    "latent_size=1, n_hidden=1, K=20; imputation with 10 importance samples); "
    "p <= 64 only, at 50 % MCAR only",
    lambda ctx: HyperimputeMIWAE(
        n_epochs=20 if ctx.quick else 500, random_state=ctx.seed
    ),
    family="miwae",
    skip=_miwae_skip(64),
    downstream=False,
    patterns=SLOW_PATTERNS,
)
register(
    "miwae_demo",
    "hyperimpute's MIWAE with the MIWAE breast-cancer demo's sizes: latent 10, "
    "128 hidden units, K=20, batch 64, 602 epochs; imputation with 1,000 "
    "importance samples (the demo's); tables with p <= 30 only, at 50 % MCAR "
    "only",
    lambda ctx: HyperimputeMIWAE(
        n_epochs=20 if ctx.quick else 602,
        batch_size=64,
        latent_size=10,
        n_hidden=128,
        K=20,
        n_impute_samples=100 if ctx.quick else 1000,
        chunk_rows=64,
        random_state=ctx.seed,
    ),
    family="miwae",
    skip=_miwae_skip(30),
    downstream=False,
    patterns=SLOW_PATTERNS,
)

# The methods of a plain run: sklearn's imputers and VAEImputer's defaults
# (vae_elbo and the MIWAE plugins on demand, with --methods).
DEFAULT_METHODS = [
    "mean",
    "knn",
    "iterative",
    "iterative_et",
    "vae_iw",
    "vae_notmiwae",
]

# -------------------------------------------------------------------- metric


def score_imputation(X_true, X_miss, X_out):
    """MSE over the hidden entries (NaN output left out and counted)."""
    hidden = np.isnan(X_miss)
    X_out = np.asarray(X_out, dtype=np.float64)
    if X_out.shape != X_true.shape:  # an imputer that dropped all-missing columns
        empty = hidden.all(axis=0)
        full = np.full(X_true.shape, np.nan)
        full[:, ~empty] = X_out
        X_out = full
    err = (X_out - X_true)[hidden]
    ok = np.isfinite(err)
    mse = float(np.mean(err[ok] ** 2)) if ok.any() else float("nan")
    change = np.abs(X_out[~hidden] - X_miss[~hidden])
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "n_hidden": int(hidden.sum()),
        "n_not_imputed": int((~ok).sum()),
        "observed_max_abs_change": float(np.nanmax(change)) if change.size else 0.0,
    }


# -------------------------------------------------------------------- runner


def run_one(imputer, X_true, X_miss):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0, c0 = time.perf_counter(), time.process_time()
        imputer.fit(X_miss)
        t1, c1 = time.perf_counter(), time.process_time()
        X_out = imputer.transform(X_miss)
        t2, c2 = time.perf_counter(), time.process_time()
    record = score_imputation(X_true, X_miss, X_out)
    record.update(
        fit_s=t1 - t0, transform_s=t2 - t1, fit_cpu_s=c1 - c0, transform_cpu_s=c2 - c1
    )
    if getattr(imputer, "n_iter_", None) is not None:
        record["n_iter"] = int(imputer.n_iter_)
    record["convergence_warning"] = any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    return record


def stored_labels(out_dir):
    path = results_dir(out_dir) / f"{NAME}.json"
    return {run["label"] for run in read_json(path)["runs"]} if path.exists() else set()


def measure_pair(args, dataset, X_std, method_name):
    """All patterns x seeds of one method on one dataset: one run record."""
    method = METHODS[method_name]
    n, p = X_std.shape
    ctx = Context(0, n, p, quick=args.quick)
    reason = method.skip(ctx)
    patterns = [
        p for p in args.patterns if method.patterns in (None,) or p in method.patterns
    ]
    if not patterns:
        reason = reason or f"runs on {', '.join(method.patterns)} only"
    if reason:
        log(f"{dataset:13s} {method_name:12s} skipped: {reason}")
        return
    config = {
        "dataset": dataset,
        "dataset_description": DATASETS[dataset][0],
        "method": method_name,
        "family": method.family,
        "description": method.description,
        "patterns": {k: PATTERNS[k][0] for k in patterns},
        "seeds": args.seeds,
        "quick": args.quick,
        "constant_columns": int((X_std.std(axis=0) == 0).sum()),
    }
    if method.family == "miwae":
        config["hyperimpute"] = _hyperimpute_version()
    with Measurement(
        NAME,
        out_dir=out_dir_of(args),
        config=config,
        label=f"{dataset}:{method_name}",
        notes=args.note,
    ) as m:
        records = []
        for pattern in patterns:
            for seed in args.seeds:
                hidden = PATTERNS[pattern][1](X_std, mask_rng(seed, dataset, pattern))
                X_miss = X_std.copy()
                X_miss[hidden] = np.nan
                imputer = method.factory(Context(seed, n, p, quick=args.quick))
                record = run_one(imputer, X_std, X_miss)
                record.update(
                    pattern=pattern,
                    seed=seed,
                    missing_rate=float(hidden.mean()),
                    rows_all_missing=int(hidden.all(axis=1).sum()),
                    cols_all_missing=int(hidden.all(axis=0).sum()),
                )
                records.append(record)
                log(
                    f"{dataset:13s} {pattern:10s} seed {seed} {method_name:12s} "
                    f"MSE {record['mse']:.4f}  fit {record['fit_s']:7.2f} s  "
                    f"transform {record['transform_s']:6.2f} s  (CPU "
                    f"{record['fit_cpu_s'] + record['transform_cpu_s']:.1f} s)"
                )
        m.results["records"] = records


def measure_downstream(args, method_name):
    """Accuracy of StandardScaler -> imputer -> LogisticRegression, 5-fold CV."""
    X, y = load_breast_cancer(return_X_y=True)
    n, p = X.shape
    method = METHODS.get(method_name)
    config = {
        "method": method_name,
        "family": method.family if method else "none",
        "description": method.description if method else "no missing values",
        "seeds": args.seeds,
        "quick": args.quick,
    }
    with Measurement(
        NAME,
        out_dir=out_dir_of(args),
        config=config,
        label=f"downstream:{method_name}",
        notes=args.note,
    ) as m:
        records = []
        for seed in args.seeds:
            hidden = mask_mcar(X, 0.5, mask_rng(seed, "downstream", "breast_cancer"))
            X_in = X.copy()
            if method is not None:
                X_in[hidden] = np.nan
            steps = [StandardScaler()]
            if method is not None:
                ctx = Context(seed, int(n * 0.8), p, quick=args.quick)
                steps.append(method.factory(ctx))
            pipe = make_pipeline(*steps, LogisticRegression(max_iter=5000))
            cv = StratifiedKFold(5, shuffle=True, random_state=seed)
            t0, c0 = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                accuracy = cross_val_score(pipe, X_in, y, cv=cv, scoring="accuracy")
            records.append(
                {
                    "seed": seed,
                    "accuracy_mean": float(accuracy.mean()),
                    "accuracy_folds": [float(a) for a in accuracy],
                    "seconds": time.perf_counter() - t0,
                    "cpu_seconds": time.process_time() - c0,
                }
            )
            log(
                f"downstream seed {seed} {method_name:13s} "
                f"accuracy {accuracy.mean():.4f}"
            )
        m.results["records"] = records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS))
    parser.add_argument("--patterns", nargs="+", choices=list(PATTERNS))
    parser.add_argument("--methods", nargs="+", choices=list(METHODS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--downstream-methods",
        nargs="+",
        choices=["complete_data", *METHODS],
        help="default: complete_data and the run's methods marked for it",
    )
    parser.add_argument("--no-downstream", action="store_true")
    parser.add_argument("--only-downstream", action="store_true")
    parser.add_argument(
        "--resume", action="store_true", help="skip the pairs already stored"
    )
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
        args.datasets = args.datasets or ["wine", "breast_cancer"]
        args.patterns = args.patterns or ["mcar50", "mnar_top25"]
    args.datasets = args.datasets or DEFAULT_DATASETS
    args.patterns = args.patterns or list(PATTERNS)
    args.methods = args.methods or DEFAULT_METHODS
    if args.downstream_methods is None:
        args.downstream_methods = ["complete_data"] + [
            m for m in args.methods if METHODS[m].downstream
        ]
    torch.set_num_threads(1)
    done = stored_labels(out_dir_of(args)) if args.resume else set()
    with threadpool_limits(1):
        if not args.only_downstream:
            for dataset in args.datasets:
                X, _ = DATASETS[dataset][1]()
                X_std = StandardScaler().fit_transform(X)
                for method_name in args.methods:
                    if f"{dataset}:{method_name}" not in done:
                        measure_pair(args, dataset, X_std, method_name)
        if not args.no_downstream:
            for method_name in args.downstream_methods:
                method = METHODS.get(method_name)
                if method is not None and method.skip(Context(0, 455, 30)):
                    continue
                if f"downstream:{method_name}" not in done:
                    measure_downstream(args, method_name)
    write_reports(args)


if __name__ == "__main__":
    main()

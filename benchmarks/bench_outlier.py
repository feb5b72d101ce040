"""Novelty-detection benchmark: VAEOutlierDetector against sklearn's detectors,
a PCA + GaussianMixture likelihood and PyOD's VAE, on tasks built from real data.

Usage (from the repository root; PyOD comes with ``pip install -e ".[benchmarks]"``)::

    python benchmarks/bench_outlier.py          # full run: hours on 2 busy cores;
                                                # resumes where a run stopped
    python benchmarks/bench_outlier.py --quick  # smoke run, ~1-2 min
    python benchmarks/bench_outlier.py --redo-vae  # after a change to the VAE:
                                                # its rows only (about 1 h)
    python benchmarks/report_outlier.py         # JSON -> RESULTS_outlier.md

    # The ADBench family (contaminated training rows; tables in
    # ../shared/data/adbench or $SKVAE_ADBENCH_DIR), alone; resumes from
    # results/outlier_adbench.partial.json, merged into
    # results/outlier_adbench.json when every asked cell is done:
    python benchmarks/bench_outlier.py --only adbench          # 25 x 3 x 9
    python benchmarks/bench_outlier.py --only adbench --redo-vae --seeds 0
                                        # the VAE's rows again, after a change
    python benchmarks/bench_outlier.py --only adbench --tables 25 45 \
        --methods VAEOutlierDetector IsolationForest

Tasks (each with seeds 0, 1, 2):

- digits: each class held out in turn as the novelty. Train on a random 75 % of
  the other nine classes; test on their other 25 % plus every image of the
  held-out class. Pixels / 16, in [0, 1].
- Fashion-MNIST (Debian's ``dataset-fashion-mnist``; skipped without it): each
  class held out in turn. Subsampled to keep 30 fits per method tractable on
  2 cores: 1,000 training images drawn from the other nine classes of the
  training set; test: 500 images of those classes and 150 of the held-out
  one, drawn from the test set. Pixels / 255, in [0, 1].
- breast_cancer: train on a random half of the benign tumours; test on the
  other half plus 20 malignant ones drawn at random (about 10 %, the rare
  class). Standardized with a StandardScaler fitted on the training rows, for
  every method.

Image pixels already share one unit, so no method's input is rescaled further
(standardizing pixels would blow up the nearly constant border pixels); the
VAE standardizes its encoder's input itself and PyOD's VAE its whole input
(``preprocessing=True``, its default).

- adbench (``--only adbench``): ADBench's unsupervised protocol on its
  classical tables (Han et al., NeurIPS 2022): a stratified 70/30 split per
  seed, training rows capped at 10,000 and test rows at 5,000, standardized on
  the training rows; every detector at its defaults is fitted on the
  training rows *with* their anomalies and without labels; CPU seconds of
  the fit (time.process_time, one thread). See ``run_adbench``.

Every detector is fitted on the training rows only and ranks the test rows;
ROC AUC and average precision take the novelty as the positive class. Writes
``benchmarks/results_outlier.json`` (``--quick``: ``benchmarks/quick/``).
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

import skvae
from skvae import VAEOutlierDetector
from skvae.datasets import has_fashion_mnist, load_fashion_mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_outlier import ADBENCH_METHODS, FAMILY_NAMES, VAE  # noqa: E402

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2)
SCORE_TYPES = ("elbo", "iw", "reconstruction_probability")
# Detector settings other than the defaults, measured on the small tasks only,
# to show what each default buys.
VAE_VARIANTS = {
    "default": {},
    # the VAE's own prior N(0, I) in the scores, instead of the ex-post mixture
    "prior='standard_normal'": {"prior": "standard_normal"},
    # heavy tails: a pixel that is nearly constant in the training rows no
    # longer dominates the score of a normal row that moves it
    "likelihood='student_t', prior='standard_normal'": {
        "likelihood": "student_t",
        "prior": "standard_normal",
    },
}
GMM_SIZES = (1, 2, 4, 8, 16)


def log(*args):
    print(*args, flush=True)


class PCAGaussianMixture:
    """PCA to at most 20 dimensions, then the GaussianMixture (full covariances)
    of 1, 2, 4, 8 or 16 components with the lowest BIC on the training rows;
    scored by its log-likelihood. The baseline a statistician would fit."""

    def __init__(self, random_state, sizes=GMM_SIZES):
        self.random_state = random_state
        self.sizes = sizes

    def fit(self, X):
        k = min(20, X.shape[1], X.shape[0] - 1)
        self.pca_ = PCA(n_components=k, random_state=self.random_state).fit(X)
        Z = self.pca_.transform(X)
        fits = [
            GaussianMixture(
                n,
                covariance_type="full",
                reg_covar=1e-4,
                random_state=self.random_state,
            ).fit(Z)
            for n in self.sizes
            if n * (k + k * (k + 1) / 2)
            < Z.shape[0] * k  # fewer parameters than values
        ]
        self.gmm_ = min(fits, key=lambda g: g.bic(Z))
        return self

    def score_samples(self, X):
        return self.gmm_.score_samples(self.pca_.transform(X))


def baselines(seed):
    """name -> (unfitted detector, function giving novelty scores: higher = novel)."""
    from pyod.models.vae import VAE as PyODVAE

    def negated(det, X):
        return -det.score_samples(X)

    return {
        "IsolationForest": (IsolationForest(random_state=seed), negated),
        "LocalOutlierFactor": (LocalOutlierFactor(novelty=True), negated),
        "OneClassSVM": (OneClassSVM(), negated),
        "PCA + GaussianMixture": (PCAGaussianMixture(seed), negated),
        "PyOD VAE": (
            PyODVAE(random_state=seed, verbose=0),
            lambda det, X: det.decision_function(X),
        ),
    }


# ------------------------------------------------------------------ tasks


def digits_tasks(seed, quick):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    for novel in range(3 if quick else 10):
        normal = y != novel
        X_train, X_test_in = train_test_split(
            X[normal], test_size=0.25, random_state=seed
        )
        yield f"digit {novel}", X_train, X_test_in, X[~normal]


def fmnist_tasks(seed, quick):
    X_tr, y_tr = load_fashion_mnist("train")
    X_te, y_te = load_fashion_mnist("test")
    n_train, n_in, n_out = (600, 300, 100) if quick else (1000, 500, 150)
    rng = np.random.RandomState(seed)
    for novel in range(2 if quick else 10):
        train = rng.choice(np.flatnonzero(y_tr != novel), n_train, replace=False)
        test_in = rng.choice(np.flatnonzero(y_te != novel), n_in, replace=False)
        test_out = rng.choice(np.flatnonzero(y_te == novel), n_out, replace=False)
        X64 = X_tr[train].astype(np.float64)
        yield (
            f"class {novel}",
            X64,
            X_te[test_in].astype(np.float64),
            X_te[test_out].astype(np.float64),
        )


def breast_cancer_tasks(seed, quick):
    X, y = load_breast_cancer(return_X_y=True)
    benign, malignant = X[y == 1], X[y == 0]
    X_train, X_test_in = train_test_split(benign, test_size=0.5, random_state=seed)
    rng = np.random.RandomState(seed)
    X_test_out = malignant[rng.choice(len(malignant), 20, replace=False)]
    scaler = StandardScaler().fit(X_train)
    yield (
        "malignant",
        scaler.transform(X_train),
        scaler.transform(X_test_in),
        scaler.transform(X_test_out),
    )


FAMILIES = {
    "digits": digits_tasks,
    "fashion_mnist": fmnist_tasks,
    "breast_cancer": breast_cancer_tasks,
}


# ---------------------------------------------------------------- running


def evaluate(y_novel, novelty):
    return {
        "roc_auc": float(roc_auc_score(y_novel, novelty)),
        "average_precision": float(average_precision_score(y_novel, novelty)),
    }


def run_vae(params, X_train, X_test, y_novel, quick):
    if quick:
        params = {"max_iter": 5, **params}
    det = VAEOutlierDetector(**params)
    start = time.perf_counter()
    det.fit(X_train)
    fit_s = time.perf_counter() - start
    out = []
    default_type = det.score_type
    for score_type in SCORE_TYPES:
        det.set_params(score_type=score_type)
        start = time.perf_counter()
        scores = det.score_samples(X_test)
        score_s = time.perf_counter() - start
        row = {"score_type": score_type, "fit_s": fit_s, "score_s": score_s}
        row.update(evaluate(y_novel, -scores))
        if score_type == default_type:
            # The 'auto' offset was fitted for this score type.
            flagged = det.predict(X_test) == -1
            row["auto_flagged_normal"] = float(flagged[y_novel == 0].mean())
            row["auto_flagged_novel"] = float(flagged[y_novel == 1].mean())
            row["auto_flagged_train"] = float(np.mean(det.predict(X_train) == -1))
        out.append(row)
    return out, det.n_iter_


# Seeds are run in this order, so that an interrupted run covers every task
# family once before it repeats any.
def plan(families, quick):
    seeds = SEEDS[:1] if quick else SEEDS
    order = [(f, s) for s in seeds for f in FAMILIES if f in families]
    # breast_cancer is cheap: all its seeds first.
    return sorted(order, key=lambda fs: (fs[0] != "breast_cancer", fs[1]))


def _git_head(where=HERE):
    """The short commit of the checkout holding ``where`` ("unknown" outside git)."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _is_redone(row, every_variant):
    """A row ``--redo-vae-default`` (``--redo-vae``: ``every_variant``)
    measures again."""
    return row["method"] == "VAEOutlierDetector" and (
        every_variant or row["variant"] == "default"
    )


def run(families, quick, out_path, variants, redo_vae_default=False, redo_vae=False):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)
    rows, notes = [], []
    if out_path.exists():  # resume: keep what was measured, skip those tasks
        earlier = json.loads(out_path.read_text())
        rows, notes = earlier["rows"], earlier["meta"].get("notes", [])
    done = {(r["family"], r["task"], r["seed"]) for r in rows}
    redo, redo_tag, redo_variants = set(), None, {}
    if redo_vae:
        redo_vae_default = True
        # The variants each finished task was measured with, to measure again.
        for r in rows:
            if r["method"] == "VAEOutlierDetector" and r["variant"] != "default":
                task = (r["family"], r["task"], r["seed"])
                redo_variants.setdefault(task, set()).add(r["variant"])
    if redo_vae_default:
        # Rows measured by this code carry its git commit, so that a redo that
        # was interrupted resumes with the tasks it has not redone yet.
        redo_tag = _git_head()
        which = "at its defaults" + (" and its variants" if redo_vae else "")
        where = ", ".join(FAMILY_NAMES[f] for f in families)
        note = (
            f"{time.strftime('%Y-%m-%d', time.gmtime())}: the VAE {which} "
            f"measured again on {where} "
            f"(skvae {skvae.__version__} at git {redo_tag}); the other rows "
            "are from the earlier run."
        )
        if not any(f"at git {redo_tag})" in n for n in notes):
            notes.append(note)
        redone = {
            (r["family"], r["task"], r["seed"])
            for r in rows
            if _is_redone(r, redo_vae) and r.get("redo_tag") == redo_tag
        }
        redo = {t for t in done if t[0] in families} - redone
        rows = [
            r
            for r in rows
            if not (
                _is_redone(r, redo_vae) and (r["family"], r["task"], r["seed"]) in redo
            )
        ]
    for family, seed in plan(families, quick):
        for task, X_train, X_test_in, X_test_out in FAMILIES[family](seed, quick):
            only_vae = (family, task, seed) in redo
            if (family, task, seed) in done and not only_vae:
                continue
            X_test = np.vstack([X_test_in, X_test_out])
            y_novel = np.r_[np.zeros(len(X_test_in)), np.ones(len(X_test_out))]
            base = {
                "family": family,
                "task": task,
                "seed": seed,
                "n_train": len(X_train),
                "n_test_normal": len(X_test_in),
                "n_test_novel": len(X_test_out),
                "n_features": X_train.shape[1],
            }
            # The variants only where they are cheap (or asked for).
            names = VAE_VARIANTS if variants or family == "breast_cancer" else {}
            if only_vae:
                again = redo_variants.get((family, task, seed), ())
                names = {v: p for v, p in VAE_VARIANTS.items() if v in again}
            for variant, params in {"default": {}, **names}.items():
                results, n_iter = run_vae(
                    {"random_state": seed, **params}, X_train, X_test, y_novel, quick
                )
                for r in results:
                    rows.append(
                        {
                            **base,
                            "method": "VAEOutlierDetector",
                            "variant": variant,
                            "n_iter": n_iter,
                            **r,
                            **({"redo_tag": redo_tag} if only_vae else {}),
                        }
                    )
                log(
                    f"{family} {task} seed {seed} VAE {variant}: "
                    + " ".join(f"{r['score_type']} {r['roc_auc']:.3f}" for r in results)
                    + f" ({results[0]['fit_s']:.1f} s, {n_iter} epochs)"
                )
            for name, (det, novelty_of) in baselines(seed).items():
                if only_vae:
                    break
                start = time.perf_counter()
                det.fit(X_train)
                fit_s = time.perf_counter() - start
                start = time.perf_counter()
                novelty = novelty_of(det, X_test)
                score_s = time.perf_counter() - start
                rows.append(
                    {
                        **base,
                        "method": name,
                        "variant": "default",
                        "score_type": None,
                        "fit_s": fit_s,
                        "score_s": score_s,
                        **evaluate(y_novel, novelty),
                    }
                )
                log(f"  {name}: {rows[-1]['roc_auc']:.3f} ({fit_s:.1f} s)")
            # Written after every task, so that an interrupted run keeps its rows.
            write(rows, quick, out_path, notes)


def _versions():
    """The versions a results file records."""
    import pyod

    return {
        "skvae": skvae.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "pyod": pyod.__version__,
        "python": platform.python_version(),
    }


def write(rows, quick, out_path, notes=()):
    meta = {
        "quick": quick,
        "seeds": {
            f: sorted({r["seed"] for r in rows if r["family"] == f})
            for f in FAMILIES
            if any(r["family"] == f for r in rows)
        },
        "versions": _versions(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch threads 1",
        "notes": list(notes),
        "vae_defaults": {
            k: v
            for k, v in VAEOutlierDetector().get_params().items()
            if k
            in (
                "n_components",
                "score_type",
                "max_iter",
                "early_stopping",
                "near_constant_ratio",
                "prior",
            )
        },
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


# ------------------------------------------------------------ ADBench family
#
# ADBench's unsupervised setting (Han et al., NeurIPS 2022): one unlabeled
# table holds the anomalies among the normal rows, and the detector is fitted
# on all of it. Unlike the novelty families above, the training rows are
# contaminated at the table's own anomaly rate.

ADBENCH_DIR = Path(
    os.environ.get("SKVAE_ADBENCH_DIR", HERE.parent.parent / "shared/data/adbench")
)
ADBENCH_OUT = HERE / "results" / "outlier_adbench.json"
ADBENCH_MAX_TRAIN, ADBENCH_MAX_TEST = 10_000, 5_000
# The GaussianMixture's sizes in this family (BIC over 1-8 full components).
ADBENCH_GMM_SIZES = (1, 2, 4, 8)


def adbench_tables(folder=ADBENCH_DIR):
    """The names of the tables in ``folder`` ('2_annthyroid', ...), in
    ADBench's numbering."""
    names = [p.stem for p in Path(folder).glob("*.npz")]
    return sorted(names, key=lambda n: (int(n.split("_")[0]), n))


def adbench_split(name, seed, folder=ADBENCH_DIR):
    """ADBench's unsupervised protocol for one table and seed.

    A stratified 70/30 split; the training rows capped at 10,000 and the test
    rows at 5,000 (stratified subsamples); columns standardized with the
    training rows' means and standard deviations. Returns X_train, X_test,
    y_train, y_test (1 = anomaly); the detectors never see y_train.
    """
    data = np.load(Path(folder) / f"{name}.npz", allow_pickle=False)
    X, y = data["X"].astype(np.float64), data["y"].astype(int).ravel()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    X_train, y_train = _stratified_cap(X_train, y_train, ADBENCH_MAX_TRAIN, seed)
    X_test, y_test = _stratified_cap(X_test, y_test, ADBENCH_MAX_TEST, seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _stratified_cap(X, y, n_max, seed):
    """X, y, or a stratified sample of n_max of their rows when there are more."""
    if len(X) <= n_max:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=n_max, stratify=y, random_state=seed)
    return X, y


def adbench_baselines(seed):
    """name -> (unfitted detector, function giving anomaly scores: higher =
    more anomalous), every one at its defaults."""
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.knn import KNN
    from pyod.models.pca import PCA as PyODPCA
    from pyod.models.vae import VAE as PyODVAE

    def negated(det, X):
        return -det.score_samples(X)

    def pyod_scores(det, X):
        return det.decision_function(X)

    return {
        "IsolationForest": (IsolationForest(random_state=seed), negated),
        "LocalOutlierFactor": (LocalOutlierFactor(novelty=True), negated),
        "PyOD KNN": (KNN(), pyod_scores),
        "PyOD ECOD": (ECOD(), pyod_scores),
        "PyOD COPOD": (COPOD(), pyod_scores),
        "PyOD PCA": (PyODPCA(random_state=seed), pyod_scores),
        "GaussianMixture": (PCAGaussianMixture(seed, ADBENCH_GMM_SIZES), negated),
        "PyOD VAE": (PyODVAE(random_state=seed, verbose=0), pyod_scores),
    }


# The report's list (it must not import torch or pyod), less the VAE.
ADBENCH_BASELINES = tuple(m for m in ADBENCH_METHODS if m != VAE)


def _cpu_timed(call):
    """(result, CPU seconds of this process, wall seconds) of ``call()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = call()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def adbench_cell(method, X_train, X_test, y_test, seed, vae_params=None):
    """Fit one detector on the unlabeled training rows, score the test rows."""
    row = {}
    if method == VAE:
        params = {"random_state": seed, **(vae_params or {})}
        # exploration: keys with a leading underscore are private attributes
        hidden = {k: params.pop(k) for k in list(params) if k.startswith("_")}
        det = VAEOutlierDetector(**params)
        for k, v in hidden.items():
            setattr(det, k, v)
        _, row["fit_cpu_s"], row["fit_wall_s"] = _cpu_timed(lambda: det.fit(X_train))
        scores, row["score_cpu_s"], _ = _cpu_timed(lambda: det.score_samples(X_test))
        novelty = -scores
        flagged = det.predict(X_test) == -1
        row["n_iter"] = int(det.n_iter_)
        row["flagged_test"] = float(flagged.mean())
        row["anomaly_rate_test"] = float(y_test.mean())
        row["predict_f1"] = float(f1_score(y_test, flagged, zero_division=0.0))
        row["flagged_train"] = float(np.mean(det.predict(X_train) == -1))
        row["other_scores"] = other_vae_scores(det, X_test, y_test)
    else:
        det, novelty_of = adbench_baselines(seed)[method]
        _, row["fit_cpu_s"], row["fit_wall_s"] = _cpu_timed(lambda: det.fit(X_train))
        novelty, row["score_cpu_s"], _ = _cpu_timed(lambda: novelty_of(det, X_test))
    if not np.all(np.isfinite(novelty)):
        # rank a non-finite score as the most anomalous, and say so
        row["non_finite_scores"] = int(np.sum(~np.isfinite(novelty)))
        novelty = np.nan_to_num(novelty, nan=np.inf, posinf=np.inf, neginf=-np.inf)
        novelty = np.where(np.isinf(novelty), np.sign(novelty) * 1e300, novelty)
    row.update(evaluate(y_test, novelty))
    return row


def other_vae_scores(det, X_test, y_test):
    """ROC AUC and AP of other scores of the same fitted detector (exploration,
    no refit): the other score types and priors, and the density of the
    posterior mean under the ex-post prior alone (the latent density)."""
    out = {}
    params = det.get_params()
    others = {
        "reconstruction_probability": {"score_type": "reconstruction_probability"},
        "elbo, prior='standard_normal'": {"prior": "standard_normal"},
    }
    for name, change in others.items():
        det.set_params(**change)
        # a score of -inf (a row whose code overflows) is the most anomalous
        novelty = np.nan_to_num(-det.score_samples(X_test), nan=1e300, posinf=1e300)
        out[name] = evaluate(y_test, novelty)
        det.set_params(**{k: params[k] for k in change})
    if getattr(det, "prior_", None) is not None:
        z = det.vae_.transform(X_test).astype(np.float64)
        # a row far outside the training sample may overflow its code
        finite = np.isfinite(z).all(axis=1)
        density = np.full(len(z), -np.inf)
        density[finite] = det.prior_.score_samples(z[finite])
        novelty = np.nan_to_num(-density, posinf=1e300)
        out["latent density"] = evaluate(y_test, novelty)
    return out


def _warm_up(methods, vae_params):
    """Fit each method once on a tiny table, so that imports and numba's
    compilation are not charged to the first table's fit time."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    for method in methods:
        if method == VAE:
            params = {k: v for k, v in (vae_params or {}).items() if k[0] != "_"}
            VAEOutlierDetector(**{**params, "max_iter": 1}).fit(X)
        else:
            det, novelty_of = adbench_baselines(0)[method]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                novelty_of(det.fit(X), X)


def adbench_cell_key(row):
    return f"{row['table']}/{row['seed']}/{row['method']}/{row['variant']}"


def run_adbench(
    tables,
    methods,
    seeds,
    out_path=ADBENCH_OUT,
    redo_vae=False,
    vae_params=None,
    variant="default",
    folder=ADBENCH_DIR,
):
    """Measure the ADBench family, resumably.

    Finished cells (a table, a seed, a method) are kept in
    ``<out>.partial.json`` as they come; when every asked cell is done they
    are merged into ``out_path`` and the partial file is removed. A cell
    already in ``out_path`` is skipped unless ``redo_vae`` asks for the VAE's
    cells again (after a change to the detector), which replaces them and
    leaves the other methods' rows.
    """
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)
    partial_path = out_path.with_suffix(".partial.json")
    final = json.loads(out_path.read_text()) if out_path.exists() else None
    rows = {adbench_cell_key(r): r for r in (final or {}).get("rows", [])}
    partial = (
        json.loads(partial_path.read_text()) if partial_path.exists() else {"rows": []}
    )
    fresh = {adbench_cell_key(r): r for r in partial["rows"]}
    tag = _git_head()
    _warm_up(methods, vae_params)
    for seed in seeds:
        for table in tables:
            todo = []
            for method in methods:
                name = variant if method == VAE else "default"
                key = f"{table}/{seed}/{method}/{name}"
                if key in fresh:
                    continue
                if key in rows and not (redo_vae and method == VAE):
                    continue
                todo.append((key, method, name))
            if not todo:
                continue
            X_train, X_test, y_train, y_test = adbench_split(table, seed, folder)
            base = {
                "table": table,
                "seed": seed,
                "n_train": len(X_train),
                "n_test": len(X_test),
                "n_features": X_train.shape[1],
                "anomaly_rate_train": float(y_train.mean()),
                "n_test_anomalies": int(y_test.sum()),
            }
            for key, method, name in todo:
                params = vae_params if method == VAE else None
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    try:
                        cell = adbench_cell(
                            method, X_train, X_test, y_test, seed, params
                        )
                    except ValueError as error:  # e.g. a diverged training
                        if method != VAE:
                            raise
                        log(f"{table} seed {seed} {method} ({name}) failed: {error}")
                        cell = {"error": str(error), "roc_auc": None}
                fresh[key] = {
                    **base,
                    "method": method,
                    "variant": name,
                    **({"vae_params": params} if method == VAE and params else {}),
                    **cell,
                    "git": tag,
                    "date": time.strftime("%Y-%m-%d", time.gmtime()),
                }
                partial["rows"] = list(fresh.values())
                partial_path.parent.mkdir(parents=True, exist_ok=True)
                partial_path.write_text(json.dumps(partial, indent=1))
                if cell["roc_auc"] is None:
                    continue
                extra = (
                    f", flags {cell['flagged_test']:.3f} (rate "
                    f"{cell['anomaly_rate_test']:.3f}), F1 {cell['predict_f1']:.3f}, "
                    f"{cell['n_iter']} epochs"
                    if method == VAE
                    else ""
                )
                log(
                    f"{table} seed {seed} {method} ({name}): ROC AUC "
                    f"{cell['roc_auc']:.3f} AP {cell['average_precision']:.3f} "
                    f"fit {cell['fit_cpu_s']:.2f} CPU s{extra}"
                )
    rows.update(fresh)
    write_adbench(out_path, list(rows.values()), folder)
    partial_path.unlink(missing_ok=True)


def write_adbench(out_path, rows, folder=ADBENCH_DIR):
    order = {t: i for i, t in enumerate(adbench_tables(folder))}
    rows = sorted(
        rows,
        key=lambda r: (order.get(r["table"], 99), r["seed"], r["method"], r["variant"]),
    )
    meta = {
        "protocol": (
            "ADBench unsupervised: stratified 70/30 split per seed, training rows "
            f"capped at {ADBENCH_MAX_TRAIN}, test rows at {ADBENCH_MAX_TEST} "
            "(stratified), standardized on the training rows; detectors at their "
            "defaults fitted on the unlabeled training rows; ROC AUC and average "
            "precision on the test rows (anomaly = positive)"
        ),
        "versions": _versions(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, one thread "
        "(torch, BLAS); times are CPU seconds of the process (time.process_time)",
        "vae_defaults": {
            k: v
            for k, v in VAEOutlierDetector().get_params().items()
            if isinstance(v, (str, int, float, type(None))) and k != "verbose"
        },
        "gmm_sizes": list(ADBENCH_GMM_SIZES),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, small")
    parser.add_argument(
        "--only",
        choices=sorted([*FAMILIES, "adbench"]),
        action="append",
        help="task families (default: the novelty families; 'adbench' runs the "
        "ADBench tables, alone)",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also fit the VAE variants on digits and Fashion-MNIST (always on "
        "breast_cancer)",
    )
    parser.add_argument(
        "--redo-vae-default",
        action="store_true",
        help="measure the VAE at its defaults again on the finished tasks of "
        "the families run (after a change to it), keeping the other rows",
    )
    parser.add_argument(
        "--redo-vae",
        action="store_true",
        help="as --redo-vae-default, with the VAE variants each task was measured "
        "with; with --only adbench: the VAE's cells of the tables and seeds asked "
        "for, measured again",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="discard earlier results instead of resuming",
    )
    adb = parser.add_argument_group("ADBench family (--only adbench)")
    adb.add_argument(
        "--tables",
        nargs="+",
        help="table names or their ADBench numbers (default: every table in "
        "$SKVAE_ADBENCH_DIR, else ../shared/data/adbench)",
    )
    adb.add_argument(
        "--methods",
        nargs="+",
        choices=[VAE, *ADBENCH_BASELINES],
        metavar="METHOD",
        help=f"detectors (default: all): {VAE}, " + ", ".join(ADBENCH_BASELINES),
    )
    adb.add_argument(
        "--seeds", nargs="+", type=int, default=list(SEEDS), help="default 0 1 2"
    )
    adb.add_argument(
        "--vae-params",
        type=json.loads,
        default=None,
        help="JSON of VAEOutlierDetector parameters other than its defaults "
        "(needs --variant)",
    )
    adb.add_argument(
        "--variant",
        default="default",
        help="the name the VAE's rows carry (default: 'default')",
    )
    adb.add_argument(
        "--out",
        type=Path,
        default=ADBENCH_OUT,
        help=f"results file (default {ADBENCH_OUT.relative_to(HERE.parent)})",
    )
    args = parser.parse_args(argv)
    if args.only and "adbench" in args.only:
        if not ADBENCH_DIR.is_dir():
            parser.error(f"no ADBench tables in {ADBENCH_DIR} (set SKVAE_ADBENCH_DIR)")
        if (args.vae_params is not None) != (args.variant != "default"):
            parser.error("--vae-params and --variant go together")
        every = adbench_tables()
        tables = every
        if args.tables:
            tables = [
                t for t in every if t in args.tables or t.split("_")[0] in args.tables
            ]
            missing = set(args.tables) - {
                x for t in tables for x in (t, t.split("_")[0])
            }
            if missing:
                parser.error(f"unknown tables: {sorted(missing)}")
        if args.fresh and args.out.exists():
            args.out.unlink()
        run_adbench(
            tables,
            args.methods or [VAE, *ADBENCH_BASELINES],
            args.seeds,
            out_path=args.out,
            redo_vae=args.redo_vae,
            vae_params=args.vae_params,
            variant=args.variant,
        )
        log(f"wrote {args.out}")
        return
    families = args.only or list(FAMILIES)
    if "fashion_mnist" in families and not has_fashion_mnist():
        how = "apt-get install dataset-fashion-mnist"
        log(f"Fashion-MNIST not installed: skipped ({how})")
        families.remove("fashion_mnist")
    out_dir = HERE / "quick" if args.quick else HERE
    out_path = out_dir / "results_outlier.json"
    if args.fresh and out_path.exists():
        out_path.unlink()
    run(
        families,
        out_path=out_path,
        quick=args.quick,
        variants=args.variants,
        redo_vae_default=args.redo_vae_default,
        redo_vae=args.redo_vae,
    )
    log(f"wrote {out_path}")


if __name__ == "__main__":
    sys.exit(main())

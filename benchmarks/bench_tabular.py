"""Tabular data (issue 9): the VAE against FactorAnalysis, its own linear
special case, on scikit-learn's bundled real tables; how noisy ``score`` is;
and when early stopping stops.

Usage (from the repository root)::

    python benchmarks/bench_tabular.py              # all three sections
    python benchmarks/bench_tabular.py --only quality|noise|stopping
    python benchmarks/bench_tabular.py --quick      # smoke run

``quality``: ``make_pipeline(StandardScaler(), model)`` in 5-fold CV
(``KFold(5, shuffle=True, random_state=0)``) with ``model`` =
``FactorAnalysis(k)`` (exact log-likelihood) or ``VAETransformer(n_components=k,
random_state=seed)`` at its defaults (held-out ELBO = ``score`` and
importance-weighted log-likelihood = ``score_samples_iw``, K=1000), k in
{1, 2, 4, 8}, seeds 0, 1, 2; and which k a ``GridSearchCV`` on ``score``
picks per seed (the best mean CV ELBO). Resumable: finished (dataset, k, seed)
cells are kept in ``results/tabular_quality.partial.json`` until the run ends.

``noise``: the standard deviation of ``score`` over 30 draws of the scoring
noise (the model's noise seed), for a fixed fitted model, on 400+ held-out
rows, and the same with the noise of skvae 0.1 (16 vectors shared by every row).

``stopping``: epochs that ``early_stopping=True`` trains on digits and on
binarized Fashion-MNIST, against the epoch at which the held-out ELBO of the
same model trained without stopping is best.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Measurement,
    add_common_args,
    apply_quick,
    has_fashion_mnist,
    log,
    out_dir_of,
    read_json,
    results_dir,
    write_json,
    write_reports,
)

SECTIONS = ("quality", "noise", "stopping")
KS = (1, 2, 4, 8)
SEEDS = (0, 1, 2)


def datasets(quick):
    """The bundled real tables, as the issue defines them."""
    from sklearn.datasets import (
        load_breast_cancer,
        load_diabetes,
        load_digits,
        load_iris,
        load_wine,
    )

    data = {
        "breast_cancer": load_breast_cancer().data,
        "diabetes": load_diabetes(scaled=False).data,
        "wine": load_wine().data,
        "iris": load_iris().data,
        "digits16": load_digits().data / 16,
    }
    if quick:
        data = {name: X[:120] for name, X in list(data.items())[:2]}
    return data


def vae(**params):
    from skvae import VAETransformer

    return VAETransformer(**params)


def cv_cell(X, k, seed, *, iw_k, max_iter):
    """5-fold CV of FA and the VAE at k latents, one VAE seed."""
    from sklearn.decomposition import FactorAnalysis
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {"fa": [], "elbo": [], "iw": [], "train_elbo": [], "fit_s": [], "n_iter": []}
    params = {"n_components": k, "random_state": seed}
    if max_iter is not None:
        params["max_iter"] = max_iter
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        fa = make_pipeline(StandardScaler(), FactorAnalysis(k, random_state=0))
        out["fa"].append(float(fa.fit(X[train]).score(X[test])))
        pipe = make_pipeline(StandardScaler(), vae(**params))
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(X[train])
        out["fit_s"].append(time.perf_counter() - t0)
        model = pipe[-1]
        Z_test = pipe[0].transform(X[test])
        out["elbo"].append(float(model.score(Z_test)))
        out["train_elbo"].append(float(model.score(pipe[0].transform(X[train]))))
        iw = model.score_samples_iw(Z_test, n_importance_samples=iw_k, random_state=0)
        out["iw"].append(float(np.mean(iw)))
        out["n_iter"].append(int(model.n_iter_))
    return {key: float(np.mean(v)) for key, v in out.items()} | {
        "folds": dict(out.items())
    }


def run_quality(args, m):
    partial_path = results_dir(out_dir_of(args)) / "tabular_quality.partial.json"
    cells = read_json(partial_path) if partial_path.exists() else {}
    for name, X in datasets(args.quick).items():
        for k in args.ks:
            for seed in args.seeds:
                key = f"{name}/{k}/{seed}"
                if key not in cells:
                    cells[key] = cv_cell(
                        X, k, seed, iw_k=args.iw_k, max_iter=args.max_iter
                    )
                    write_json(partial_path, cells)
                c = cells[key]
                log(
                    f"{name:14s} k={k} seed={seed}: FA {c['fa']:8.2f}  ELBO "
                    f"{c['elbo']:8.2f}  IW {c['iw']:8.2f}  IW-FA "
                    f"{c['iw'] - c['fa']:+.2f}  fit {c['fit_s']:.1f}s"
                )
    m.results["cells"] = cells
    m.results["datasets"] = {n: list(X.shape) for n, X in datasets(args.quick).items()}
    m.results["ks"] = list(args.ks)
    m.results["seeds"] = list(args.seeds)
    m.results["iw_k"] = args.iw_k
    return partial_path


def run_noise(args, m):
    """sd of score over noise seeds, per-row noise vs 0.1's shared noise."""
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    cases = {
        "digits16 (Gaussian, k=10)": (load_digits().data / 16, {"n_components": 10}),
        "breast_cancer (standardized, k=4)": (
            StandardScaler().fit_transform(load_breast_cancer().data),
            {"n_components": 4},
        ),
    }
    out = {}
    for name, (X, params) in cases.items():
        Xtr, Xte = train_test_split(X, test_size=0.4, random_state=0)
        if args.quick:
            Xtr, Xte = Xtr[:100], Xte[:100]
        model = vae(random_state=0, max_iter=args.max_iter or 200, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xtr)
        per_row, shared = [], []
        for seed in range(args.noise_draws):
            model._noise_seed = seed
            per_row.append(model.score(Xte))
            shared.append(shared_noise_score(model, Xte, seed))
        out[name] = {
            "n_rows": len(Xte),
            "per_row_sd": float(np.std(per_row, ddof=1)),
            "shared_sd": float(np.std(shared, ddof=1)),
            "mean_score": float(np.mean(per_row)),
        }
        log(f"{name}: {out[name]}")
    m.results["cases"] = out
    m.results["noise_draws"] = args.noise_draws


def shared_noise_score(model, X, seed):
    """``score`` as skvae 0.1 computed it: 16 vectors shared by every row."""
    eps = np.random.RandomState(seed).standard_normal((16, 1, model.n_components))
    module = model._inference_module(np.float64)
    eps = torch.as_tensor(eps)

    def elbo(x, rows):
        terms = module.elbo(x, eps)
        return terms.log_px - terms.kl

    X = np.asarray(X, np.float64)
    return float(np.mean(model._map_rows(X, elbo, 16 * X.shape[1])))


def run_stopping(args, m):
    """Epochs early stopping trains vs the epoch of the best held-out ELBO."""
    from _common import fmnist_binary
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    cases = {
        "digits/16 (Gaussian, k=10)": (
            *train_test_split(load_digits().data / 16, test_size=0.25, random_state=0),
            {"n_components": 10},
        )
    }
    if has_fashion_mnist():
        n = 2000 if args.quick else None
        Xtr, _, Xte, _ = fmnist_binary(n, 2000 if args.quick else None)
        cases["binarized Fashion-MNIST (Bernoulli, k=20)"] = (
            Xtr,
            Xte,
            {"n_components": 20, "likelihood": "bernoulli"},
        )
    out = {}
    for name, (Xtr, Xte, params) in cases.items():
        max_epochs = args.stopping_max_epochs
        stopped = vae(
            random_state=0, early_stopping=True, max_iter=max_epochs, **params
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stopped.fit(Xtr)
        # The same model trained epoch by epoch without a stopping rule,
        # scored on the test rows after each epoch.
        curve = []
        free = vae(
            random_state=0,
            max_iter=1,
            warm_start=True,
            early_stopping=False,
            n_iter_no_change=10**6,
            **params,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(args.curve_epochs):
                free.fit(Xtr)
                curve.append(float(free.score(Xte)))
        best = int(np.argmax(curve)) + 1
        out[name] = {
            "early_stopping_epochs": int(stopped.n_iter_),
            "early_stopping_best_epoch": kept_epoch(stopped),
            "early_stopping_test_elbo": float(stopped.score(Xte)),
            "curve": curve,
            "best_epoch": best,
            "best_test_elbo": float(max(curve)),
            "n_train": len(Xtr),
            "n_test": len(Xte),
        }
        log(
            f"{name}: early stopping ran {stopped.n_iter_} epochs (test ELBO "
            f"{out[name]['early_stopping_test_elbo']:.2f}); best test ELBO at epoch "
            f"{best} of {len(curve)} ({max(curve):.2f})"
        )
    m.results["cases"] = out


def kept_epoch(model):
    """The epoch of the weights early stopping kept; 0: the starting weights
    (a Gaussian VAE's factor-analysis start), which ``validation_scores_``
    (epochs 1, 2, ...) does not list."""
    hits = np.flatnonzero(
        np.asarray(model.validation_scores_) == model.best_validation_score_
    )
    return int(hits[0] + 1) if len(hits) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--iw-k", type=int, default=1000)
    parser.add_argument(
        "--max-iter", type=int, default=None, help="default: the VAE's own"
    )
    parser.add_argument("--noise-draws", type=int, default=30)
    parser.add_argument("--stopping-max-epochs", type=int, default=300)
    parser.add_argument("--curve-epochs", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    add_common_args(parser)
    args = apply_quick(
        parser.parse_args(argv),
        parser,
        {
            "ks": [1, 2],
            "seeds": [0],
            "iw_k": 50,
            "max_iter": 5,
            "noise_draws": 5,
            "stopping_max_epochs": 5,
            "curve_epochs": 4,
        },
    )
    torch.set_num_threads(args.threads)
    out = out_dir_of(args)
    config = {
        k: getattr(args, k)
        for k in ("ks", "seeds", "iw_k", "max_iter", "noise_draws", "quick")
    } | {"curve_epochs": args.curve_epochs, "threads": args.threads}
    for section in args.only or SECTIONS:
        with Measurement(
            f"tabular_{section}", out_dir=out, config=config, notes=args.note
        ) as m:
            if section == "quality":
                partial = run_quality(args, m)
            elif section == "noise":
                run_noise(args, m)
            else:
                run_stopping(args, m)
        if section == "quality":
            partial.unlink(missing_ok=True)
    write_reports(args)


if __name__ == "__main__":
    main()

"""Fast defaults (issue 20): steps and CPU seconds per fit, the quality they
reach, and what the wrapper, sklearn's checks and the thread policy cost.

Usage (from the repository root)::

    python benchmarks/bench_speed.py                     # every section
    python benchmarks/bench_speed.py --only tables       # one section
    python benchmarks/bench_speed.py --label before      # a second run, kept beside
    python benchmarks/bench_speed.py --quick             # smoke run

Every time is CPU seconds of this process (``time.process_time``) with torch
on one thread, so a busy machine moves it little; ``threads`` measures wall
seconds, with and without a competing process, on purpose.

``tables``: ``make_pipeline(StandardScaler(), VAETransformer(n_components=k,
random_state=seed))`` at its defaults in 5-fold CV (``KFold(5, shuffle=True,
random_state=0)``) on iris, wine, breast_cancer, diabetes (``scaled=False``)
and digits/16, k in {1, 2, 4, 8}: per fit the CPU seconds, the Adam steps of
every run it made (early stopping's and the refit on all rows), the
iterations, the held-out ELBO (``score``, what ``GridSearchCV`` ranks) and
importance-weighted log-likelihood (``score_samples_iw``), and
FactorAnalysis's held-out log-likelihood on the same folds. For the first fold
of each cell, a bare torch loop (``bare_vae.py``'s: the same module, Adam,
whole shuffled batches sliced from one tensor, no skorch) takes the same
number of steps, for the wrapper's share of the fit. The seed-to-seed sd of
a cell's mean CV ELBO is that of a ``GridSearchCV`` candidate's
``mean_test_score`` (same folds, same pipeline).

``step``: the time of one training step of the default networks (a 128-row
batch) in skvae's fit against a minimal hand-written torch VAE of the same
sizes (two ReLU layers each way, Gaussian decoder, closed-form KL).

``checks``: ``check_estimator`` of each estimator at its defaults, on one
torch thread.

``imputer``: ``VAEImputer()`` on breast_cancer (standardized) with 50 % of the
entries missing completely at random (``bench_imputation``'s masks), fit and
transform CPU seconds and the MSE on the hidden entries, against
``IterativeImputer``.

``detector``: ``VAEOutlierDetector()`` fit CPU seconds, and those of one
of its members (``n_estimators=1``), against ``VAETransformer`` with the
parameters of its first member's VAE (and ``early_stopping`` as the detector
maps it).

``threads``: wall seconds of README's Quickstart, of a
``GridSearchCV(n_jobs=2)`` and of ``check_estimator(VAETransformer())``, each
in a fresh interpreter at the default thread policy, alone and beside one
competing CPU-bound process.
"""

import argparse
import copy
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Measurement,
    add_common_args,
    apply_quick,
    log,
    out_dir_of,
    write_reports,
)

SECTIONS = ("tables", "step", "checks", "imputer", "detector", "threads")
TABLES = ("iris", "wine", "breast_cancer", "diabetes", "digits16")
KS = (1, 2, 4, 8)
ROOT = Path(__file__).resolve().parents[1]


def load_table(name):
    from sklearn import datasets

    if name == "digits16":
        return datasets.load_digits().data / 16
    if name == "diabetes":
        return datasets.load_diabetes(scaled=False).data
    return getattr(datasets, f"load_{name}")().data


class StepCounter:
    """Counts ``VAENet.train_step`` calls (every run of a fit) while active."""

    def __enter__(self):
        from skvae import _net

        self.count = 0
        self._original = _net.VAENet.train_step
        counter = self

        def counted(net, batch, **kwargs):
            counter.count += 1
            return counter._original(net, batch, **kwargs)

        _net.VAENet.train_step = counted
        return self

    def __exit__(self, *exc):
        from skvae import _net

        _net.VAENet.train_step = self._original
        return False


def bare_loop_seconds(model, X, steps, batch_size):
    """CPU seconds of ``steps`` Adam steps of a copy of the fitted module in a
    plain torch loop (bare_vae.py's loss), on shuffled whole batches of X."""
    import torch
    from bare_vae import negative_elbo

    from skvae._net import FUSED_ADAM

    module = copy.deepcopy(model.net_.module_).float().train()
    offset = 0.0 if model._x_offset is None else model._x_offset
    data = torch.as_tensor(np.asarray(X, dtype=np.float64) - offset).float()
    kwargs = {"fused": True} if FUSED_ADAM else {}
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-4, **kwargs)
    generator = torch.Generator().manual_seed(0)
    batch = min(batch_size, len(data))
    done = 0
    t0 = time.process_time()
    while done < steps:
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), batch):
            loss = negative_elbo(module, data[order[start : start + batch]])[0]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return time.process_time() - t0


def cv_cell(X, k, seed, *, iw_k, folds, bare):
    from sklearn.decomposition import FactorAnalysis
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from skvae import VAETransformer

    out = {key: [] for key in ("fa", "elbo", "iw", "cpu_s", "steps", "n_iter")}
    out["bare_s"] = None
    for fold, (train, test) in enumerate(
        KFold(5, shuffle=True, random_state=0).split(X)
    ):
        if fold >= folds:
            break
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        out["fa"].append(
            float(FactorAnalysis(k, random_state=0).fit(X_train).score(X_test))
        )
        model = VAETransformer(n_components=k, random_state=seed)
        with warnings.catch_warnings(), StepCounter() as counter:
            warnings.simplefilter("ignore")
            t0 = time.process_time()
            model.fit(X_train)
            out["cpu_s"].append(time.process_time() - t0)
        out["steps"].append(counter.count)
        out["n_iter"].append(int(model.n_iter_))
        out["elbo"].append(float(model.score(X_test)))
        iw = model.score_samples_iw(X_test, n_importance_samples=iw_k, random_state=0)
        out["iw"].append(float(np.mean(iw)))
        if bare and fold == 0:
            out["bare_s"] = bare_loop_seconds(
                model, X_train, counter.count, model.batch_size
            )
            out["bare_fit_s"] = out["cpu_s"][0]
    return out


def run_tables(args, m):
    from sklearn.preprocessing import StandardScaler

    from skvae import VAETransformer

    with warnings.catch_warnings():  # the process's first fit pays torch's start-up
        warnings.simplefilter("ignore")
        VAETransformer(random_state=0).fit(
            StandardScaler().fit_transform(load_table("wine"))
        )
    cells = {}
    for name in args.tables:
        X = load_table(name)
        if args.quick:
            X = X[:150]
        for k in args.ks:
            for seed in args.seeds:
                c = cv_cell(
                    X,
                    k,
                    seed,
                    iw_k=args.iw_k,
                    folds=args.folds,
                    bare=seed == args.seeds[0],
                )
                cells[f"{name}/{k}/{seed}"] = c
                log(
                    f"{name:13s} k={k} seed={seed}: FA {np.mean(c['fa']):8.2f} ELBO "
                    f"{np.mean(c['elbo']):8.2f} IW {np.mean(c['iw']):8.2f} "
                    f"IW-FA {np.mean(c['iw']) - np.mean(c['fa']):+.2f}  fit "
                    f"{np.mean(c['cpu_s']):.2f} s (max {max(c['cpu_s']):.2f}), "
                    f"{np.mean(c['steps']):.0f} steps, {np.mean(c['n_iter']):.0f} it"
                    + (
                        f", bare loop {c['bare_s']:.2f} s for {c['steps'][0]} steps "
                        f"(fit {c['bare_fit_s']:.2f} s)"
                        if c["bare_s"] is not None
                        else ""
                    )
                )
    m.results["cells"] = cells
    m.results["iw_k"] = args.iw_k
    m.results["folds"] = args.folds


def run_step(args, m):
    """Per-step time: skvae's fit vs a minimal torch VAE of the same sizes."""
    import torch
    from torch import nn

    from skvae import VAETransformer

    rng = np.random.RandomState(0)
    with warnings.catch_warnings():  # the process's first fit pays torch's start-up
        warnings.simplefilter("ignore")
        VAETransformer(max_iter=2, random_state=0).fit(rng.randn(256, 30))
    out = {}
    for n_features, k in ((30, 8), (64, 10)):
        X = rng.randn(2048, n_features)
        steps = 200 if args.quick else 2000
        # 16 batches of 128 = one epoch per iteration; no early stopping, a
        # training-loss rule that never fires: exactly max_iter * 16 steps.
        model = VAETransformer(
            n_components=k,
            early_stopping=False,
            n_iter_no_change=10**6,
            max_iter=steps // 16,
            hidden_layer_sizes=(64, 64),
            random_state=0,
        )
        with warnings.catch_warnings(), StepCounter() as counter:
            warnings.simplefilter("ignore")
            t0 = time.process_time()
            model.fit(X)
            fit_s = time.process_time() - t0

        class MinimalVAE(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(
                    nn.Linear(n_features, 64),
                    nn.ReLU(),
                    nn.Linear(64, 64),
                    nn.ReLU(),
                    nn.Linear(64, 2 * k),
                )
                self.dec = nn.Sequential(
                    nn.Linear(k, 64),
                    nn.ReLU(),
                    nn.Linear(64, 64),
                    nn.ReLU(),
                    nn.Linear(64, n_features),
                )
                self.logvar = nn.Parameter(torch.zeros(n_features))

            def forward(self, x):
                loc, logvar = self.enc(x).chunk(2, dim=1)
                z = loc + torch.randn_like(loc) * (0.5 * logvar).exp()
                mean = self.dec(z)
                nll = 0.5 * (
                    self.logvar
                    + (x - mean) ** 2 / self.logvar.exp()
                    + np.log(2 * np.pi)
                ).sum(1)
                kl = -0.5 * (1 + logvar - loc**2 - logvar.exp()).sum(1)
                return (nll + kl).mean()

        minimal = MinimalVAE()
        optimizer = torch.optim.Adam(minimal.parameters(), lr=1e-3, fused=True)
        data = torch.as_tensor(X, dtype=torch.float32)
        t0 = time.process_time()
        for step in range(counter.count):
            start = (step % 16) * 128
            loss = minimal(data[start : start + 128])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        minimal_s = time.process_time() - t0
        bare_s = bare_loop_seconds(model, X, counter.count, 128)
        key = f"{n_features} features, k={k}"
        out[key] = {
            "steps": counter.count,
            "fit_ms": 1e3 * fit_s / counter.count,
            "bare_ms": 1e3 * bare_s / counter.count,
            "minimal_ms": 1e3 * minimal_s / counter.count,
        }
        log(f"step, {key}: {out[key]}")
    m.results["cases"] = out


def run_checks(args, m):
    import torch
    from sklearn.utils.estimator_checks import check_estimator

    from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

    torch.set_num_threads(1)
    out = {}
    for cls in (VAETransformer, VAEImputer, VAEOutlierDetector):
        if args.quick and cls is not VAETransformer:
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(cls(), on_fail=None)
        failed = [r["check_name"] for r in results if r["status"] == "failed"]
        out[cls.__name__] = {
            "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "n_checks": len(results),
            "failed": failed,
        }
        log(f"check_estimator({cls.__name__}()): {out[cls.__name__]}")
    m.results["estimators"] = out


def mcar_mask(X, rate, seed, name):
    rng = np.random.default_rng(
        [seed, zlib.crc32(name.encode()), zlib.crc32(b"mcar50")]
    )
    n, p = X.shape
    hidden = np.zeros(n * p, dtype=bool)
    hidden[rng.choice(n * p, size=int(np.floor(n * p * rate)), replace=False)] = True
    return hidden.reshape(n, p)


def run_imputer(args, m):
    from sklearn.datasets import load_breast_cancer
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer
    from sklearn.preprocessing import StandardScaler

    from skvae import VAEImputer

    X = StandardScaler().fit_transform(load_breast_cancer().data)
    with warnings.catch_warnings():  # the process's first fit pays torch's start-up
        warnings.simplefilter("ignore")
        VAEImputer(max_iter=2, random_state=0).fit(
            np.where(X[:100] > 1, np.nan, X[:100])
        )
    out = {}
    for seed in args.seeds:
        hidden = mcar_mask(X, 0.5, seed, "breast_cancer")
        X_miss = np.where(hidden, np.nan, X)
        row = {}
        for label, make in (
            ("VAEImputer()", lambda: VAEImputer(random_state=seed)),
            ("IterativeImputer()", lambda: IterativeImputer(random_state=seed)),
        ):
            imputer = make()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.process_time()
                imputer.fit(X_miss)
                fit_s = time.process_time() - t0
                X_out = imputer.transform(X_miss)
                transform_s = time.process_time() - t0 - fit_s
            row[label] = {
                "mse": float(np.mean((X_out - X)[hidden] ** 2)),
                "fit_s": fit_s,
                "transform_s": transform_s,
            }
        out[str(seed)] = row
        log(f"imputer seed {seed}: {row}")
    m.results["seeds"] = out


def run_detector(args, m):
    from sklearn.preprocessing import StandardScaler

    from skvae import VAEOutlierDetector, VAETransformer

    with warnings.catch_warnings():  # the process's first fit pays torch's start-up
        warnings.simplefilter("ignore")
        VAEOutlierDetector(random_state=0).fit(load_table("wine"))
    out = {}
    for name in ("breast_cancer", "digits16"):
        X = load_table(name)
        X = StandardScaler().fit_transform(X) if name != "digits16" else X
        row = {"detector_s": [], "member_s": [], "transformer_s": []}
        row["max_samples"] = []
        for seed in args.seeds:
            det = VAEOutlierDetector(random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.process_time()
                det.fit(X)
                row["detector_s"].append(time.process_time() - t0)
                row["max_samples"].append(int(det.max_samples_))
                # one member: the detector of one VAE (its first member)
                t0 = time.process_time()
                VAEOutlierDetector(n_estimators=1, random_state=seed).fit(X)
                row["member_s"].append(time.process_time() - t0)
                vae = VAETransformer(**det.vae_.get_params())
                t0 = time.process_time()
                vae.fit(X)
                row["transformer_s"].append(time.process_time() - t0)
        out[name] = row
        log(f"detector {name}: {row}")
    m.results["tables"] = out


QUICKSTART = """
from sklearn.datasets import load_digits
from skvae import VAETransformer
X = load_digits().data / 16
vae = VAETransformer(n_components=2, random_state=0)
Z = vae.fit_transform(X)
X_rec = vae.inverse_transform(Z)
X_new = vae.sample(16, random_state=0)
print(vae.score(X))
"""

GRIDSEARCH = """
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skvae import VAETransformer
X = load_wine().data
grid = GridSearchCV(
    make_pipeline(StandardScaler(), VAETransformer(random_state=0)),
    {"vaetransformer__n_components": [1, 2, 4]},
    cv=KFold(5, shuffle=True, random_state=0),
    n_jobs=2,
).fit(X)
print(grid.best_params_)
"""

# Issue 20, target 3: check_estimator at the default thread policy, beside a
# competing process, in at most 3 minutes (skvae 0.2: 38 minutes).
CHECKS = """
import warnings
from sklearn.utils.estimator_checks import check_estimator
from skvae import VAETransformer
warnings.simplefilter("ignore")
check_estimator(VAETransformer())
"""


def _wall(code):
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k
        not in (
            "OMP_NUM_THREADS",
            "SKVAE_NUM_THREADS",
            "MKL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
        )
    }
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], check=True, env=env, capture_output=True
    )
    return time.perf_counter() - t0


def run_threads(args, m):
    """Wall seconds at the default thread policy, alone and beside a busy process."""
    out = {}
    busy_code = "import time\nt=time.time()\nwhile time.time()-t<3600: pass"
    for label, code in (
        ("Quickstart", QUICKSTART),
        ("GridSearchCV(n_jobs=2)", GRIDSEARCH),
        ("check_estimator(VAETransformer())", CHECKS),
    ):
        alone = _wall(code)
        busy = subprocess.Popen([sys.executable, "-c", busy_code])
        try:
            competing = _wall(code)
        finally:
            busy.kill()
            busy.wait()
        out[label] = {"alone_s": alone, "competing_s": competing}
        log(f"threads, {label}: {out[label]}")
    m.results["cases"] = out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--tables", nargs="+", default=list(TABLES))
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--iw-k", type=int, default=1000)
    add_common_args(parser, label=True)
    args = apply_quick(
        parser.parse_args(argv),
        parser,
        {"tables": ["iris", "wine"], "ks": [2], "seeds": [0], "folds": 2, "iw_k": 50},
    )
    import torch

    torch.set_num_threads(1)
    out = out_dir_of(args)
    config = {
        key: getattr(args, key)
        for key in ("tables", "ks", "seeds", "folds", "iw_k", "quick")
    }
    for section in args.only or SECTIONS:
        with Measurement(
            f"speed_{section}",
            out_dir=out,
            config=config,
            label=args.label or "default",
            notes=args.note,
        ) as m:
            {
                "tables": run_tables,
                "step": run_step,
                "checks": run_checks,
                "imputer": run_imputer,
                "detector": run_detector,
                "threads": run_threads,
            }[section](args, m)
    write_reports(args)


if __name__ == "__main__":
    main()

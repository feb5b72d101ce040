"""skvae benchmarks: training and inference speed against a bare PyTorch loop,
and model quality against FactorAnalysis, PCA and the bare reference.

Usage (from the repository root)::

    python benchmarks/run.py             # full run, ~15-25 min on 2 CPU cores
    python benchmarks/run.py --quick     # smoke run, ~1-2 min, small data
    python benchmarks/run.py --only speed|quality|fmnist

Measures three sections, each stored as a run in ``results/<section>.json``
(``speed``, ``quality``, ``fmnist``) with the machine, the settings and the
machine's load sampled while it ran; then calls ``report.py``, which writes
``RESULTS.md`` and ``results.png`` from the JSON alone. Full run: in
``benchmarks/``; ``--quick``: in ``benchmarks/quick/``. ``--only`` reruns one
section and leaves the others' JSON as it is. Every timing is a median over
repeats with skvae and the bare loop interleaved in one process, reported as
a ratio; torch runs on ``--threads`` (default 1) threads.

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or ``FASHION_MNIST_DIR``; without
it the Fashion-MNIST parts are skipped with a note.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bare_vae  # noqa: E402
from _common import (  # noqa: E402
    Measurement,
    default_out_dir,
    dequantized_digits,
    digits_unit,
    fixed_epochs,
    fmnist_binary,
    has_fashion_mnist,
    log,
    median,
)

from skvae import VAETransformer  # noqa: E402

SECTIONS = ("speed", "quality", "fmnist")
BATCH_SIZES = (32, 128, 512)


# ------------------------------------------------------------------ speed


def time_fit_vs_bare(X, *, epochs, batch_size, repeats, seed0=0, **params):
    """Interleaved fit / bare timings; returns per-epoch seconds and ratios."""
    fit_t, bare_t, ratios, max_diff = [], [], [], 0.0
    ep_fit, ep_bare, ep_ratios, setup = [], [], [], []
    for rep in range(repeats):
        stamps = []
        est = fixed_epochs(
            max_iter=epochs, batch_size=batch_size, random_state=seed0 + rep, **params
        )
        module, seed = bare_vae.reference_model(est, X)
        order = ("fit", "bare") if rep % 2 == 0 else ("bare", "fit")
        for which in order:
            t0 = time.perf_counter()
            if which == "fit":
                est.fit(X)
                t_fit = (time.perf_counter() - t0) / epochs
            else:
                stamps.append(t0)
                losses = bare_vae.train(
                    module,
                    X,
                    epochs=epochs,
                    batch_size=batch_size,
                    lr=est.learning_rate,
                    seed=seed,
                    on_epoch_end=lambda e, m: stamps.append(time.perf_counter()),
                )
                t_bare = (time.perf_counter() - t0) / epochs
        # Per epoch: skorch's EpochTimer ('dur') vs the bare loop's epochs.
        durs = np.asarray(est.net_.history[:, "dur"])
        e_fit, e_bare = median(durs), median(np.diff(stamps))
        ep_fit.append(e_fit)
        ep_bare.append(e_bare)
        ep_ratios.append(e_fit / e_bare)
        setup.append(t_fit * epochs - durs.sum())
        fit_t.append(t_fit)
        bare_t.append(t_bare)
        ratios.append(t_fit / t_bare)
        max_diff = max(
            max_diff,
            float(np.max(np.abs(np.asarray(est.loss_curve_) - np.asarray(losses)))),
        )
    return {
        "fit_ms": 1e3 * median(fit_t),
        "bare_ms": 1e3 * median(bare_t),
        "ratio": median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "loss_max_abs_diff": max_diff,
        "epoch_fit_ms": 1e3 * median(ep_fit),
        "epoch_bare_ms": 1e3 * median(ep_bare),
        "epoch_ratio": median(ep_ratios),
        "epoch_ratio_min": min(ep_ratios),
        "epoch_ratio_max": max(ep_ratios),
        "setup_ms": 1e3 * median(setup),
    }


def time_calls(fns, repeats):
    """Interleaved repeats of several zero-argument callables: median seconds."""
    times = {name: [] for name in fns}
    for rep in range(repeats):
        names = list(fns) if rep % 2 == 0 else list(fns)[::-1]
        for name in names:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: median(v) for name, v in times.items()}


def inference_speed(est, X, repeats):
    """Rows/s of transform and score_samples vs the bare forward passes."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    module = est.net_.module_
    module.eval()
    x = torch.from_numpy(X)
    fns = {
        "transform": lambda: est.transform(X),
        "bare encoder": lambda: bare_vae.encode(module, X),
        "score_samples": lambda: est.score_samples(X),
        "bare ELBO (16 draws)": lambda: bare_vae.elbo(
            module, x, n_samples=16, batch_size=512
        ),
    }
    for f in fns.values():  # warm-up
        f()
    t = time_calls(fns, repeats)
    n = len(X)
    return {
        "transform_rows_s": n / t["transform"],
        "encoder_rows_s": n / t["bare encoder"],
        "transform_ratio": t["transform"] / t["bare encoder"],
        "score_rows_s": n / t["score_samples"],
        "elbo_rows_s": n / t["bare ELBO (16 draws)"],
        "score_ratio": t["score_samples"] / t["bare ELBO (16 draws)"],
    }


def compile_speed(X, *, epochs, batch_size, **params):
    """Per-epoch time of the bare loop, eager vs torch.compile(module)."""
    est = fixed_epochs(max_iter=epochs, batch_size=batch_size, random_state=0, **params)
    out = {}
    for name in ("eager", "compiled", "eager "):
        module, seed = bare_vae.reference_model(est, X)
        stamps = [time.perf_counter()]
        if name == "compiled":
            # The loop calls the encoder and decoder directly: compile those
            # (torch.compile(module) would only compile the unused forward).
            module.encoder = torch.compile(module.encoder)
            module.decoder = torch.compile(module.decoder)
        try:
            bare_vae.train(
                module,
                X,
                epochs=epochs,
                batch_size=batch_size,
                lr=1e-3,
                seed=seed,
                on_epoch_end=lambda e, m: stamps.append(time.perf_counter()),
            )
        except Exception as exc:  # inductor needs a C++ compiler
            return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        durations = np.diff(stamps)
        out[name.strip() + ("_2" if name == "eager " else "")] = {
            "first_s": float(durations[0]),
            "later_ms": 1e3 * median(durations[1:]),
        }
    eager = min(out["eager"]["later_ms"], out["eager_2"]["later_ms"])
    out["ratio"] = out["compiled"]["later_ms"] / eager
    return out


def run_speed(cfg):
    res = {"digits": {}, "fmnist": {}, "inference": {}, "scaling": None, "compile": {}}
    X, _ = digits_unit()
    log(
        "\n## Training speed: digits (1797 x 64, Gaussian), "
        f"{cfg['digits_epochs']} epochs per fit"
    )
    for bs in BATCH_SIZES:
        r = time_fit_vs_bare(
            X,
            epochs=cfg["digits_epochs"],
            batch_size=bs,
            repeats=cfg["repeats"],
            n_components=10,
        )
        res["digits"][bs] = r
        log(
            f"  batch {bs:4d}: epoch {r['epoch_fit_ms']:.1f} vs "
            f"{r['epoch_bare_ms']:.1f} ms, x{r['epoch_ratio']:.3f}; whole fit "
            f"{r['fit_ms']:.1f} ms/epoch, bare "
            f"{r['bare_ms']:.1f} ms/epoch, ratio {r['ratio']:.3f} "
            f"[{r['ratio_min']:.3f}-{r['ratio_max']:.3f}], "
            f"loss diff {r['loss_max_abs_diff']:.1e}"
        )
    est_digits = fixed_epochs(n_components=10, max_iter=5, random_state=0).fit(X)
    res["inference"]["digits"] = inference_speed(est_digits, X, cfg["inf_repeats"])
    if not has_fashion_mnist():
        res["fmnist_missing"] = True
        log("Fashion-MNIST missing: apt-get install dataset-fashion-mnist")
        return res
    Xf, _, Xft, _ = fmnist_binary(cfg["fmnist_n"])
    log(
        f"\n## Training speed: binarized Fashion-MNIST ({len(Xf)} x 784, "
        f"Bernoulli), {cfg['fmnist_epochs']} epoch(s) per fit"
    )
    for bs in BATCH_SIZES:
        r = time_fit_vs_bare(
            Xf,
            epochs=cfg["fmnist_epochs"],
            batch_size=bs,
            repeats=cfg["fmnist_repeats"],
            n_components=20,
            likelihood="bernoulli",
        )
        res["fmnist"][bs] = r
        log(
            f"  batch {bs:4d}: epoch {r['epoch_fit_ms']:.0f} vs "
            f"{r['epoch_bare_ms']:.0f} ms, x{r['epoch_ratio']:.3f}, setup "
            f"{r['setup_ms']:.0f} ms; whole fit {r['fit_ms']:.0f} ms/epoch, bare "
            f"{r['bare_ms']:.0f} ms/epoch, ratio {r['ratio']:.3f} "
            f"[{r['ratio_min']:.3f}-{r['ratio_max']:.3f}], "
            f"loss diff {r['loss_max_abs_diff']:.1e}"
        )
    est_f = fixed_epochs(
        n_components=20, likelihood="bernoulli", max_iter=1, random_state=0
    ).fit(Xf[:5000])
    res["inference"]["fmnist"] = inference_speed(est_f, Xft, cfg["inf_repeats"])
    for name, r in res["inference"].items():
        log(
            f"  inference {name}: transform {r['transform_rows_s']:.0f} rows/s "
            f"(x{r['transform_ratio']:.2f} bare), score_samples "
            f"{r['score_rows_s']:.0f} rows/s (x{r['score_ratio']:.2f} bare)"
        )

    log("\n## fit time vs n_samples (1 epoch, batch 128)")
    sizes = [n for n in cfg["scaling_sizes"] if n <= len(Xf)]
    times = {n: [] for n in sizes}
    for rep in range(cfg["scaling_repeats"]):
        for n in sizes if rep % 2 == 0 else sizes[::-1]:
            est = fixed_epochs(
                n_components=20, likelihood="bernoulli", max_iter=1, random_state=rep
            )
            t0 = time.perf_counter()
            est.fit(Xf[:n])
            times[n].append(time.perf_counter() - t0)
    t = np.array([median(times[n]) for n in sizes])
    n_arr = np.array(sizes, dtype=float)
    slope, intercept = np.polyfit(n_arr, t, 1)
    pred = intercept + slope * n_arr
    r2 = 1 - np.sum((t - pred) ** 2) / np.sum((t - t.mean()) ** 2)
    res["scaling"] = {
        "n": sizes,
        "seconds": t.tolist(),
        "slope_us_per_row": 1e6 * slope,
        "intercept_s": intercept,
        "r2": r2,
    }
    for n, s in zip(sizes, t):
        log(f"  n={n:6d}: {s:.3f} s, {1e6 * s / n:.1f} us/row")
    log(f"  linear fit: {1e6 * slope:.1f} us/row + {intercept:.3f} s, R^2 {r2:.4f}")

    if cfg["compile"]:
        log("\n## torch.compile (bare loop, batch 128)")
        res["compile"]["digits"] = compile_speed(
            X, epochs=6, batch_size=128, n_components=10
        )
        res["compile"]["fmnist"] = compile_speed(
            Xf[:10000],
            epochs=4,
            batch_size=128,
            n_components=20,
            likelihood="bernoulli",
        )
        log("  ", json.dumps(res["compile"]))
    return res


# ---------------------------------------------------------------- quality


def run_quality(cfg):
    Xtr, Xte, ytr, yte = dequantized_digits()
    res = {"ll": {}, "codes": {}}
    log("\n## Held-out log-likelihood on dequantized digits (nats per image)")
    configs = {
        "default": {},
        "early_stopping": {"early_stopping": True},
    }
    for k in cfg["n_components"]:
        fa = FactorAnalysis(k, random_state=0).fit(Xtr)
        pca = PCA(k, random_state=0).fit(Xtr)
        row = {"fa": fa.score(Xte), "pca": pca.score(Xte)}
        for name, extra in configs.items():
            runs = []
            for seed in cfg["seeds"]:
                params = {"n_components": k, "random_state": seed, **extra}
                if cfg["quality_max_iter"] is not None:
                    params["max_iter"] = cfg["quality_max_iter"]
                est = VAETransformer(**params)
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    est.fit(Xtr)
                runs.append(
                    {
                        "seed": seed,
                        "fit_s": time.perf_counter() - t0,
                        "n_iter": est.n_iter_,
                        "train_elbo": est.score(Xtr),
                        "test_elbo": est.score(Xte),
                        "test_iw": float(
                            np.mean(
                                est.score_samples_iw(
                                    Xte,
                                    n_importance_samples=cfg["iw_k"],
                                    random_state=0,
                                )
                            )
                        ),
                    }
                )
                if name == "default" and seed == cfg["seeds"][0]:
                    res["codes"][k] = codes_quality(est, pca, Xtr, Xte, ytr, yte)
            row[name] = runs
            m_elbo = np.mean([r["test_elbo"] for r in runs])
            m_iw = np.mean([r["test_iw"] for r in runs])
            log(
                f"  k={k:2d} {name:15s}: ELBO {m_elbo:6.1f}  IW {m_iw:6.1f}  "
                f"(FA {row['fa']:.1f}, PCA {row['pca']:.1f}; IW-FA "
                f"{m_iw - row['fa']:+.1f}), epochs "
                f"{[r['n_iter'] for r in runs]}"
            )
        res["ll"][k] = row
    log("\n## Codes on digits: reconstruction MSE and LogisticRegression accuracy")
    for k, c in res["codes"].items():
        log(
            f"  k={k:2d}: MSE VAE {c['vae_mse']:.4f} PCA {c['pca_mse']:.4f}; "
            f"accuracy VAE {c['vae_acc']:.3f} PCA {c['pca_acc']:.3f}"
        )
    return res


def codes_quality(est, pca, Xtr, Xte, ytr, yte):
    out = {}
    for name, model in (("vae", est), ("pca", pca)):
        Xrec = model.inverse_transform(model.transform(Xte))
        out[f"{name}_mse"] = float(np.mean((Xrec - Xte) ** 2))
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(model.transform(Xtr), ytr)
        out[f"{name}_acc"] = float(clf.score(model.transform(Xte), yte))
    return out


# ------------------------------------------------------------ fmnist quality


def run_fmnist(cfg):
    if not has_fashion_mnist():
        log("Fashion-MNIST missing: apt-get install dataset-fashion-mnist")
        return {"missing": True}
    Xtr, _, Xte, _ = fmnist_binary(cfg["fmnist_q_n"], cfg["fmnist_q_test"])
    E = cfg["fmnist_q_epochs"]
    n_iw = cfg["fmnist_iw_rows"]
    params = {
        "n_components": 20,
        "likelihood": "bernoulli",
        "max_iter": E,
        "batch_size": 128,
        # the bare loop's constant step (fixed_epochs turns 0.3's schedule off)
        "learning_rate": 1e-3,
        "random_state": 0,
    }
    log(
        f"\n## Binarized Fashion-MNIST ({len(Xtr)} train / {len(Xte)} test, "
        f"Bernoulli, n_components=20, {E} epochs)"
    )
    X_curve = Xte[: cfg["fmnist_curve_rows"]]
    est = fixed_epochs(**params)
    module_same, seed_same = bare_vae.reference_model(est, Xtr)
    module_other, seed_other = bare_vae.reference_model(
        fixed_epochs(**{**params, "random_state": 1}), Xtr
    )

    t0 = time.perf_counter()
    est.fit(Xtr)
    fit_s = time.perf_counter() - t0
    runs = {
        "skvae": {"train_elbo": list(est.net_.history[:, "train_elbo"]), "fit_s": fit_s}
    }
    for name, module, seed in (
        ("bare (same seed)", module_same, seed_same),
        ("bare (other seed)", module_other, seed_other),
    ):
        curve = []
        losses = bare_vae.train(
            module,
            Xtr,
            epochs=E,
            batch_size=128,
            lr=params["learning_rate"],
            seed=seed,
            on_epoch_end=lambda e, m, curve=curve: curve.append(
                float(bare_vae.elbo(m, X_curve).mean())
            ),
        )
        runs[name] = {
            "train_elbo": [-v for v in losses],
            "test_elbo_curve": curve,
            "module": module,
        }
    skvae_module = est.net_.module_
    out = {
        "epochs": E,
        "n_train": len(Xtr),
        "n_test": len(Xte),
        "iw_rows": n_iw,
        "iw_k": cfg["fmnist_iw_k"],
        "runs": {},
    }
    for name, run in runs.items():
        module = skvae_module if name == "skvae" else run["module"]
        r = {k: v for k, v in run.items() if k != "module"}
        r["test_elbo"] = float(bare_vae.elbo(module, Xte).mean())
        r["test_iw"] = float(
            bare_vae.iw_log_likelihood(
                module, Xte[:n_iw], n_samples=cfg["fmnist_iw_k"]
            ).mean()
        )
        if name == "skvae":
            r["skvae_score"] = est.score(Xte)
            r["skvae_score_iw"] = float(
                np.mean(
                    est.score_samples_iw(
                        Xte[:n_iw],
                        n_importance_samples=cfg["fmnist_iw_k"],
                        random_state=0,
                    )
                )
            )
        out["runs"][name] = r
        log(
            f"  {name:18s}: train ELBO {r['train_elbo'][-1]:.2f}, test ELBO "
            f"{r['test_elbo']:.2f}, test IW (K={cfg['fmnist_iw_k']}, "
            f"{n_iw} rows) {r['test_iw']:.2f}"
        )
    s = out["runs"]["skvae"]
    log(
        f"  skvae's own score {s['skvae_score']:.2f}, score_samples_iw "
        f"{s['skvae_score_iw']:.2f}"
    )
    return out


def config(quick):
    if quick:
        return {
            "quick": True,
            "digits_epochs": 3,
            "repeats": 3,
            "fmnist_n": 5000,
            "fmnist_epochs": 1,
            "fmnist_repeats": 2,
            "inf_repeats": 3,
            "scaling_sizes": [1000, 2000, 3000, 5000],
            "scaling_repeats": 1,
            "compile": False,
            "n_components": [2, 10],
            "seeds": [0],
            "quality_max_iter": 20,
            "iw_k": 50,
            "fmnist_q_n": 5000,
            "fmnist_q_test": 1000,
            "fmnist_q_epochs": 2,
            "fmnist_curve_rows": 500,
            "fmnist_iw_rows": 200,
            "fmnist_iw_k": 20,
        }
    return {
        "quick": False,
        "digits_epochs": 15,
        "repeats": 5,
        "fmnist_n": None,
        "fmnist_epochs": 1,
        "fmnist_repeats": 3,
        "inf_repeats": 7,
        "scaling_sizes": [1000, 2000, 5000, 10000, 20000, 40000, 60000],
        "scaling_repeats": 3,
        "compile": True,
        "n_components": [2, 5, 10, 20],
        "seeds": [0, 1, 2],
        "quality_max_iter": None,
        "iw_k": 1000,
        "fmnist_q_n": None,
        "fmnist_q_test": None,
        "fmnist_q_epochs": 15,
        "fmnist_curve_rows": 2000,
        "fmnist_iw_rows": 2000,
        "fmnist_iw_k": 100,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=SECTIONS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/ or .../quick/"
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a sentence about this run, printed in its sections of the report",
    )
    parser.add_argument(
        "--no-report", action="store_true", help="only measure (write the JSON)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    cfg = config(args.quick)
    out_dir = args.out or default_out_dir(args.quick)
    runners = {"speed": run_speed, "quality": run_quality, "fmnist": run_fmnist}
    for name in SECTIONS:
        if args.only in (None, name):
            with Measurement(name, out_dir=out_dir, config=cfg, notes=args.note) as m:
                m.results.update(runners[name](cfg))
    if not args.no_report:
        import report

        report.main(["--dir", str(out_dir)])


if __name__ == "__main__":
    main()

"""Report sections of ``RESULTS_speed.md`` (``bench_speed.py``, issue 20)."""

import numpy as np
from _common import md_table
from _report import page, section

PAGE = "RESULTS_speed.md"
COMMAND = "python benchmarks/bench_speed.py"

page(
    PAGE,
    "skvae benchmarks: fast defaults",
    intro=[
        "What a fit at the defaults costs (Adam steps and CPU seconds on one torch "
        "thread) and the held-out log-likelihood it reaches, before (skvae 0.2: "
        "constant step size 1e-3, epochs of one or two steps on small tables, "
        "patience of 200 steps) and after (0.3: iterations of at least 16 steps, "
        "step size 5e-3 warmed up over the first iteration and divided by 5 on "
        "plateaus, patience of 3 iterations, the held-out rows scored and the "
        "weights kept as the moving average of the iterates over about one "
        "iteration; a fifth of the rows held out where the model is then "
        "refitted on all of them, and the refit replays the step sizes). Nats per "
        "row, higher is better.",
        "",
    ],
)


def _table(header, rows):
    """A Markdown table and the blank line after it."""
    return [md_table(header, rows), ""]


def _by_label(runs):
    return {run["label"]: run for run in runs}


def _cells(run):
    out = {}
    for key, cell in run["results"]["cells"].items():
        name, k, seed = key.split("/")
        out.setdefault((name, int(k)), {})[int(seed)] = cell
    return out


@section(
    "speed_tables",
    page=PAGE,
    title="Steps, CPU seconds and held-out log-likelihood per fit",
    command=COMMAND + " --only tables",
    multi=True,
)
def tables_md(runs):
    runs = _by_label(runs)
    after = runs.get("default")
    before = runs.get("before")
    if after is None:
        return ["No run at the current defaults yet."]
    cells = _cells(after)
    old = _cells(before) if before else {}
    r = after["results"]
    md = [
        "`make_pipeline(StandardScaler(), VAETransformer(n_components=k, "
        "random_state=seed))` in 5-fold CV (`KFold(5, shuffle=True, "
        "random_state=0)`), means over the folds (and seeds). fit: CPU seconds "
        "of `fit` (mean, and the slowest fold); steps: Adam steps of every run of "
        "the fit (early stopping's and the refit on all rows); IW - FA: "
        f"`score_samples_iw(K={r['iw_k']})` minus FactorAnalysis's held-out "
        "log-likelihood on the same folds; ELBO: `score` (what GridSearchCV "
        "ranks); seed sd: the standard deviation over seeds of the mean CV "
        "ELBO, i.e. of a GridSearchCV candidate's `mean_test_score`. *before*: "
        "skvae 0.2 (seed 0).",
        "",
        "digits16: FactorAnalysis's held-out score is about -1e6 nats there "
        "(pixels constant in a training fold), so its IW - FA is left out.",
        "",
    ]
    rows = []
    small_fits, small_max, digits_fits = [], [], []
    for (name, k), per_seed in sorted(cells.items()):
        seeds = sorted(per_seed)
        fits = [s for seed in seeds for s in per_seed[seed]["cpu_s"]]
        steps = np.mean([np.mean(per_seed[seed]["steps"]) for seed in seeds])
        margin = np.mean(
            [np.mean(per_seed[s]["iw"]) - np.mean(per_seed[s]["fa"]) for s in seeds]
        )
        elbos = [np.mean(per_seed[s]["elbo"]) for s in seeds]
        sd = np.std(elbos, ddof=1) if len(elbos) > 1 else float("nan")
        (digits_fits if name == "digits16" else small_fits).append(np.median(fits))
        if name != "digits16":
            small_max.append(max(fits))
        prev = old.get((name, k), {}).get(0)
        prev_fit = f"{np.mean(prev['cpu_s']):.2f}" if prev else "-"
        prev_steps = f"{np.mean(prev['steps']):.0f}" if prev else "-"
        prev_margin = (
            f"{np.mean(prev['iw']) - np.mean(prev['fa']):+.2f}" if prev else "-"
        )
        digits = name == "digits16"
        rows.append(
            [
                name,
                k,
                f"{np.mean(fits):.2f} ({max(fits):.2f})",
                prev_fit,
                f"{steps:.0f}",
                prev_steps,
                "-" if digits else f"{margin:+.2f}",
                "-" if digits else prev_margin,
                f"{np.mean(elbos):.2f}",
                "-" if np.isnan(sd) else f"{sd:.3f}",
            ]
        )
    summary = []
    if small_fits:
        summary.append(
            f"Median fit on the four small tables: **{np.median(small_fits):.2f} "
            f"CPU s**, slowest fold {max(small_max):.2f} s"
            + (
                f"; digits16: median {np.median(digits_fits):.2f} s."
                if digits_fits
                else "."
            )
        )
        summary.append("")
    header = [
        "data",
        "k",
        "fit s (max)",
        "before",
        "steps",
        "before",
        "IW - FA",
        "before",
        "ELBO",
        "seed sd",
    ]
    bare = []
    for (name, k), per_seed in sorted(cells.items()):
        first = per_seed[min(per_seed)]
        if first.get("bare_s"):
            bare.append(
                [
                    name,
                    k,
                    first["steps"][0],
                    f"{first['bare_fit_s']:.2f}",
                    f"{first['bare_s']:.2f}",
                    f"{first['bare_fit_s'] / first['bare_s']:.2f}",
                ]
            )
    md += summary + _table(header, rows)
    if bare:
        md += [
            "",
            "The whole fit against a bare torch loop taking the same number of "
            "Adam steps with the same module (first fold, first seed): the "
            "rest is skorch's loop, the held-out scores, the factor-analysis "
            "start and the data's statistics.",
            "",
        ]
        md += _table(["data", "k", "steps", "fit s", "bare loop s", "ratio"], bare)
    return md


@section(
    "speed_step", page=PAGE, title="One training step", command=COMMAND + " --only step"
)
def step_md(runs):
    cases = runs[-1]["results"]["cases"]
    rows = [
        [
            key,
            c["steps"],
            f"{c['fit_ms']:.2f}",
            f"{c['bare_ms']:.2f}",
            f"{c['minimal_ms']:.2f}",
            f"{c['fit_ms'] / c['minimal_ms']:.2f}",
        ]
        for key, c in cases.items()
    ]
    return [
        "Milliseconds per Adam step of 128 rows, (64, 64) networks: skvae's "
        "whole fit divided by its steps; the same module in a bare torch loop; "
        "a minimal hand-written torch VAE of the same sizes (no linear path, "
        "no input standardization, no variance floor).",
        "",
    ] + _table(
        ["data", "steps", "skvae fit", "bare loop", "minimal VAE", "fit / minimal"],
        rows,
    )


@section(
    "speed_checks",
    page=PAGE,
    title="check_estimator at the defaults",
    command=COMMAND + " --only checks",
)
def checks_md(runs):
    out = runs[-1]["results"]["estimators"]
    rows = [
        [
            name,
            c["n_checks"],
            f"{c['cpu_s']:.0f}",
            f"{c['wall_s']:.0f}",
            ", ".join(c["failed"]) or "none",
        ]
        for name, c in out.items()
    ]
    return [
        "`sklearn.utils.estimator_checks.check_estimator(Estimator())` on one "
        "torch thread. skvae 0.2: 117 / 53 / 87 s (VAETransformer / VAEImputer / "
        "VAEOutlierDetector) on an idle machine.",
        "",
    ] + _table(["estimator", "checks", "CPU s", "wall s", "failed"], rows)


@section(
    "speed_imputer",
    page=PAGE,
    title="VAEImputer on breast_cancer, 50 % MCAR",
    command=COMMAND + " --only imputer",
)
def imputer_md(runs):
    seeds = runs[-1]["results"]["seeds"]
    rows = []
    for seed, row in seeds.items():
        for label, c in row.items():
            rows.append(
                [
                    seed,
                    label,
                    f"{c['mse']:.4f}",
                    f"{c['fit_s']:.2f}",
                    f"{c['transform_s']:.2f}",
                    f"{c['fit_s'] + c['transform_s']:.2f}",
                ]
            )
    means = {}
    for row in seeds.values():
        for label, c in row.items():
            means.setdefault(label, []).append(c)
    summary = [
        f"{label}: mean MSE {np.mean([c['mse'] for c in cs]):.4f}, fit + transform "
        f"{np.mean([c['fit_s'] + c['transform_s'] for c in cs]):.2f} CPU s."
        for label, cs in means.items()
    ]
    return (
        [
            "Standardized columns, 50 % of the entries hidden completely at "
            "random (the imputation benchmark's masks), MSE on the hidden "
            "entries; CPU seconds. skvae 0.2: MSE 0.260 (mean of 3 seeds) in "
            "15 + 4 s.",
            "",
        ]
        + [" ".join(summary), ""]
        + _table(["seed", "imputer", "MSE", "fit s", "transform s", "total s"], rows)
    )


@section(
    "speed_detector",
    page=PAGE,
    title="VAEOutlierDetector against the VAE alone",
    command=COMMAND + " --only detector",
)
def detector_md(runs):
    tables = runs[-1]["results"]["tables"]
    rows = []
    for name, c in tables.items():
        vae = np.mean(c["transformer_s"])
        row = [name, f"{np.mean(c['detector_s']):.2f}"]
        if "member_s" in c:  # measured since n_estimators
            row += [f"{np.mean(c['member_s']):.2f}"]
        row += [f"{vae:.2f}", f"{np.mean(c['detector_s']) / vae:.2f}"]
        if "member_s" in c:
            row += [f"{np.mean(c['member_s']) / vae:.2f}"]
        rows.append(row)
    members = all("member_s" in c for c in tables.values())
    # the sample each member trained on; runs before it was recorded used
    # 1,024 rows (since b0c0e15; 512 before, with one VAE)
    sample = max(
        max(c.get("max_samples", [1024 if members else 512])) for c in tables.values()
    )
    header = ["data", "detector s"]
    header += ["one member s"] if members else []
    header += ["VAETransformer s", "ratio"]
    header += ["one member / VAE"] if members else []
    return [
        "Fit CPU seconds of `VAEOutlierDetector()`"
        + (
            " (its default `n_estimators=2` fits two VAEs), of one member "
            "(`n_estimators=1`: the detector of one VAE)"
            if members
            else ""
        )
        + " and of a `VAETransformer` with the parameters of the detector's "
        "(first) VAE, on all the rows (the detector's VAE trains on a sample of "
        f"at most {sample:,}), mean over seeds.",
        "",
    ] + _table(header, rows)


@section(
    "speed_threads",
    page=PAGE,
    title="Threads: alone and beside a busy process",
    command=COMMAND + " --only threads",
)
def threads_md(runs):
    cases = runs[-1]["results"]["cases"]
    rows = [
        [
            name,
            f"{c['alone_s']:.1f}",
            f"{c['competing_s']:.1f}",
            f"{c['competing_s'] / c['alone_s']:.2f}",
        ]
        for name, c in cases.items()
    ]
    return [
        "Wall seconds of a fresh interpreter running README's Quickstart, a "
        "`GridSearchCV(n_jobs=2)` over 3 latent sizes on wine and "
        "`check_estimator(VAETransformer())`, at the default "
        "thread policy (no `OMP_NUM_THREADS`), alone and beside one CPU-bound "
        "process. skvae 0.2 at torch's default threads: the Quickstart took "
        "8.5-10 minutes beside a busy process against 16-20 s with one thread, "
        "`check_estimator` 38 minutes (target: at most 3).",
        "",
    ] + _table(["task", "alone s", "beside a busy process s", "ratio"], rows)

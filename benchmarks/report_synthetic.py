"""Report sections of ``RESULTS_synthetic.md`` (``bench_synthetic.py``, issue 11)."""

import numpy as np
from _common import md_table, mean_sd
from _report import page, section

PAGE = "RESULTS_synthetic.md"
COMMAND = "python benchmarks/bench_synthetic.py"

page(
    PAGE,
    "skvae benchmarks: synthetic rows from mixed-type tables",
    intro=[
        "skvae's VAE on raw tables with real-valued, count and categorical "
        "columns: the quality of its synthetic rows against ctgan's "
        "TVAE, and its held-out log-likelihood with a likelihood per column "
        "against an all-Gaussian model of the one-hot table. Needs the "
        '`benchmarks` extra (`pip install -e ".[benchmarks]"`).',
        "",
    ],
)

ORDER = (
    "real_holdout",
    "skvae",
    "skvae_modes",
    "skvae_budget",
    "skvae_defaults",
    "skvae_k2",
    "tvae",
    "independent",
)
LABELS = {
    "real_holdout": "real test rows (reference)",
    "skvae": "**skvae**",
    "skvae_modes": "skvae, categories at their mode (diagnostic)",
    "skvae_budget": "skvae, fixed budget",
    "skvae_defaults": "skvae at its defaults",
    "skvae_k2": "skvae, n_components=2",
    "tvae": "TVAE (defaults)",
    "independent": "independent columns",
}


def _groups(records):
    out = {}
    for r in records:
        out.setdefault((r["table"], r["method"]), []).append(r)
    return out


def _mean(rs, key):
    return float(np.mean([r[key] for r in rs]))


def _merged(runs):
    """The latest run's records, plus those of methods it did not measure
    from the latest earlier run that did (same seeds and split): a run may
    measure only some methods (TVAE's minutes apart from skvae's).

    Returns ``(records, tables, methods, sources)``: ``sources`` maps each
    method to the ``(started, command)`` of the run its records come from.
    """
    runs = sorted(runs, key=lambda run: run["started"])
    latest = runs[-1]
    cfg = latest["config"]
    records, tables, methods, sources = [], {}, {}, {}
    seen = set()
    for run in reversed(runs):
        c = run["config"]
        if c["seeds"] != cfg["seeds"] or c.get("split") != cfg.get("split"):
            continue
        if c.get("quick") != cfg.get("quick"):
            continue
        taken = set()
        for r in run["results"]["records"]:
            key = (r["table"], r["method"])
            if key in seen:
                continue
            records.append(r)
            taken.add(key)
            if r["method"] != "real_holdout":
                sources.setdefault(r["method"], (run["started"], run["command"]))
        seen |= taken
        for name, t in run["results"]["tables"].items():
            tables.setdefault(name, t)
        for method, text in c["methods"].items():
            methods.setdefault(method, text)
    return records, tables, methods, sources


def _verdicts(groups, tables):
    """Lines saying whether skvae met each target against TVAE, by how much."""
    lines = []
    for table, method in (
        (t, m)
        for t in tables
        for m in ("skvae_defaults", "skvae_k2", "skvae", "skvae_budget")
    ):
        sk, tv = groups.get((table, method)), groups.get((table, "tvae"))
        if not sk or not tv:
            continue
        parts = []
        for key, label in (
            ("quality", "quality"),
            ("column_shapes", "Column Shapes"),
            ("column_pair_trends", "Column Pair Trends"),
            ("accuracy", "TSTR accuracy"),
            ("roc_auc", "TSTR ROC AUC"),
        ):
            if any(key not in r for r in sk + tv):
                continue
            diff = _mean(sk, key) - _mean(tv, key)
            wins = sum(
                a[key] >= b[key]
                for a, b in zip(
                    sorted(sk, key=lambda r: r["seed"]),
                    sorted(tv, key=lambda r: r["seed"]),
                )
            )
            parts.append(
                f"{label} {diff:+.3f} ({'ahead' if diff >= 0 else 'behind'}; "
                f"skvae ahead on {wins} of {len(sk)} splits)"
            )
        share = "share_closer_than_test_p5"
        parts.append(
            f"copying share {100 * _mean(sk, share):.1f} % vs "
            f"{100 * _mean(tv, share):.1f} %"
        )
        ratio = _mean(sk, "fit_cpu_s") / _mean(tv, "fit_cpu_s")
        # Each split's two fits ran minutes apart: their ratio shows how much
        # of the difference is the machine's run-to-run variation.
        split_ratios = [
            a["fit_cpu_s"] / b["fit_cpu_s"]
            for a, b in zip(
                sorted(sk, key=lambda r: r["seed"]),
                sorted(tv, key=lambda r: r["seed"]),
            )
        ]
        faster = sum(r < 1 for r in split_ratios)
        parts.append(
            f"fit time {ratio:.2f}x TVAE's CPU seconds "
            f"({'faster' if ratio < 1 else 'slower'}; per split "
            f"{min(split_ratios):.2f}x-{max(split_ratios):.2f}x, skvae faster on "
            f"{faster} of {len(split_ratios)})"
        )
        name = {
            "skvae": "skvae (learning_rate=1e-2, early_stopping=True)",
            "skvae_budget": "skvae with a fixed budget",
            "skvae_k2": "skvae with n_components=2",
        }.get(method, "skvae at its defaults")
        lines.append(f"- `{table}`, {name} - TVAE: " + "; ".join(parts) + ".")
    return lines


def _losses(groups, tables):
    """Where skvae at its defaults trails TVAE, and what the measurements say
    about why (the n_components=2 row shows what the code's size does)."""
    lines = []
    for table in tables:
        sk, tv = groups.get((table, "skvae_defaults")), groups.get((table, "tvae"))
        k2 = groups.get((table, "skvae_k2"))
        if not sk or not tv:
            continue
        behind = [
            (key, label)
            for key, label in (
                ("quality", "quality"),
                ("column_pair_trends", "Column Pair Trends"),
                ("roc_auc", "TSTR ROC AUC"),
                ("accuracy", "TSTR accuracy"),
            )
            if all(key in r for r in sk + tv) and _mean(sk, key) < _mean(tv, key)
        ]
        parts = []
        for key, label in behind:
            text = f"{label} {_mean(sk, key):.3f} vs TVAE's {_mean(tv, key):.3f}"
            if k2 and all(key in r for r in k2):
                text += f" (with n_components=2: {_mean(k2, key):.3f})"
            parts.append(text)
        if _mean(sk, "fit_cpu_s") > _mean(tv, "fit_cpu_s"):
            parts.append(
                f"fit {_mean(sk, 'fit_cpu_s'):.1f} CPU s vs TVAE's "
                f"{_mean(tv, 'fit_cpu_s'):.1f} (early stopping's selection run "
                f"and the refit on all {sk[0]['n_train']} rows, against TVAE's "
                "300 epochs in minibatches of 500 rows)"
            )
        if not parts:
            continue
        lines.append(
            f"- `{table}`: skvae at its defaults trails on " + "; ".join(parts) + "."
        )
    if not lines:
        return []
    return [
        "**Where skvae's defaults lose, and why.**",
        "",
        *lines,
        "",
        "The defaults code each row in `n_components=8` latent dimensions; "
        "every column is drawn given those eight numbers. A target that depends "
        "on many columns at once (adult's income: education, occupation, "
        "relationship, hours, capital gains) keeps less of that dependence "
        "through fewer dimensions: the n_components=2 row (the default before "
        "0.3) shows what a 2-dimensional code costs. TVAE codes rows in 128 "
        "dimensions and takes each category's mode given z, which gives a "
        "classifier cleaner labels (see *Reading TSTR*).",
        "",
    ]


@section(
    "synthetic_quality",
    page=PAGE,
    title="Synthetic rows: SDMetrics quality, train-on-synthetic accuracy, time",
    command=COMMAND + " --only quality",
    multi=True,
)
def quality_md(runs):
    run = max(runs, key=lambda run: run["started"])
    cfg = run["config"]
    records, table_info, methods, sources = _merged(runs)
    groups = _groups(records)
    tables = list(table_info)
    md = [
        "**skvae's rows against TVAE's** (quality and train-on-synthetic "
        "accuracy: skvae minus TVAE, mean over the splits; fit time as a ratio):",
        "",
        *_verdicts(groups, tables),
        "",
        *_losses(groups, tables),
        "Per seed, a stratified 75/25 split of each table; every generator fits "
        "the training rows and draws as many rows as there are. **Quality**: "
        "SDMetrics' `QualityReport` of the synthetic rows against the training "
        "rows, its two properties (Column Shapes: KSComplement of real-valued, "
        "TVComplement of categorical columns; Column Pair Trends: correlation "
        "and contingency similarity of every pair) and their mean, the overall "
        "score. **TSTR**: a `HistGradientBoostingClassifier` trained on "
        f"synthetic rows predicts the target of the real test rows (mean "
        f"accuracy over {cfg['tstr_draws']} synthetic draws; the reference row "
        "is train-on-real). **Fit**: CPU seconds of this process, 1 thread "
        "(wall seconds in brackets, inflated by other jobs on a shared "
        f"machine). Mean ± sd over seeds {', '.join(map(str, cfg['seeds']))}. "
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in cfg["versions"].items() if v)
        + ".",
        "",
        "Tables:",
        "",
    ]
    for name, t in table_info.items():
        md.append(f"- `{name}`: {t['description']}; target `{t['target']}`.")
    md += ["", "Methods:", ""]
    for method in [m for m in ORDER if m in methods]:
        md.append(f"- {LABELS.get(method, method)}: {methods[method]}.")
    md += [
        "- real test rows: the held-out real rows scored as if synthetic (what "
        "fresh rows of the true distribution score at this sample size); their "
        "accuracy is train-on-real, test-on-real, the ceiling.",
        "",
        "**Reading TSTR.** skvae draws each categorical column from its "
        "likelihood, as the generative model says; ctgan's TVAE sampler takes "
        "the most probable category of each discrete column given z (the "
        "argmax of its softmax). Modes are cleaner labels for a classifier "
        "(higher TSTR accuracy, lower balanced accuracy: the minority classes "
        "are drawn less often than they occur) and worse marginals (TVAE's "
        "Column Shapes on the target column below). The diagnostic row *skvae, "
        "categories at their mode* is the same fitted skvae model sampled the "
        "TVAE way: the TSTR difference it makes is the sampler's, not the "
        "model's. Quality scores synthetic rows against the training rows, "
        "which rewards copying them; the privacy table below checks that.",
        "",
    ]
    if len(set(sources.values())) > 1:
        md += [
            "",
            "Runs (each method's rows from one run; the same splits and metrics):",
            "",
        ]
        for method, (started, command) in sources.items():
            md.append(f"- {LABELS.get(method, method)}: started {started}, `{command}`")
        md += [""]
    header = [
        "table",
        "method",
        "quality",
        "Column Shapes",
        "Column Pair Trends",
        "TSTR accuracy",
        "balanced accuracy",
        "TSTR ROC AUC",
        "fit CPU s (wall)",
        "epochs",
        "rows fitted",
    ]
    rows = []
    for table in tables:
        for method in ORDER:
            rs = groups.get((table, method))
            if not rs:
                continue
            timed = "fit_cpu_s" in rs[0]
            rows.append(
                [
                    table,
                    LABELS[method],
                    mean_sd([x["quality"] for x in rs]),
                    mean_sd([x["column_shapes"] for x in rs]),
                    mean_sd([x["column_pair_trends"] for x in rs]),
                    mean_sd([x["accuracy"] for x in rs]),
                    mean_sd([x["balanced_accuracy"] for x in rs]),
                    mean_sd([x["roc_auc"] for x in rs])
                    if all("roc_auc" in x for x in rs)
                    else "-",
                    f"{_mean(rs, 'fit_cpu_s'):.1f} ({_mean(rs, 'fit_wall_s'):.1f})"
                    if timed
                    else "-",
                    f"{_mean(rs, 'epochs'):.0f}" if "epochs" in rs[0] else "-",
                    f"{_mean(rs, 'n_fit_rows'):.0f} of {rs[0]['n_train']}"
                    if timed
                    else "-",
                ]
            )
    md += [md_table(header, rows), ""]

    md += ["**Column Shapes per column** (mean over seeds):", ""]
    for table in tables:
        methods = [m for m in ORDER if (table, m) in groups]
        columns = list(groups[(table, methods[0])][0]["shapes_by_column"])
        rows = [
            [f"`{c}`"]
            + [
                f"{np.mean([x['shapes_by_column'][c] for x in groups[(table, m)]]):.3f}"
                for m in methods
            ]
            for c in columns
        ]
        md += [
            f"`{table}`:",
            "",
            md_table(["column", *[LABELS[m] for m in methods]], rows),
            "",
        ]

    md += [
        "**Privacy check: distance to the closest training row.** Rows as "
        "vectors (real-valued columns standardized by the training rows, a "
        "missing value at the mean; a categorical column one-hot / sqrt(2), "
        "so a different category counts as one standard deviation). For each "
        "synthetic row, the Euclidean distance to its nearest training row, "
        "against the same for the real test rows (rows the model never saw, "
        "drawn from the same distribution) and for each training row to its "
        "nearest other training row. A generator that copies training rows "
        "shows synthetic distances well below the test rows' and more than 5 % "
        "of its rows closer than the test rows' 5th percentile. Medians over "
        "rows, means over seeds; first synthetic draw.",
        "",
    ]
    header = [
        "table",
        "method",
        "median distance to nearest training row",
        "real test rows' median",
        "training rows' median (to another)",
        "share closer than the test rows' 5th percentile",
        "exact copies",
    ]
    rows = []
    for table in tables:
        for method in ORDER:
            rs = groups.get((table, method))
            if not rs or method == "real_holdout":
                continue
            rows.append(
                [
                    table,
                    LABELS[method],
                    f"{_mean(rs, 'dcr_median'):.3f}",
                    f"{_mean(rs, 'dcr_test_median'):.3f}",
                    f"{_mean(rs, 'dcr_train_median'):.3f}",
                    f"{100 * _mean(rs, 'share_closer_than_test_p5'):.1f} %",
                    f"{np.mean([x['exact_copies'] for x in rs]):.1f}",
                ]
            )
    md += [md_table(header, rows), ""]

    md += ["**Per split** (quality / TSTR accuracy):", ""]
    seeds = sorted({x["seed"] for x in records})
    rows = []
    for table in tables:
        for method in ORDER:
            rs = {x["seed"]: x for x in groups.get((table, method), [])}
            if not rs:
                continue
            rows.append(
                [table, LABELS[method]]
                + [
                    f"{rs[s]['quality']:.3f} / {rs[s]['accuracy']:.3f}"
                    if s in rs
                    else "-"
                    for s in seeds
                ]
            )
    md += [md_table(["table", "method", *[f"seed {s}" for s in seeds]], rows), ""]
    return md


def _elbo_cells(results):
    """{(table, model): {seed: [cell of each fold]}}."""
    out = {}
    for key, cell in results["cells"].items():
        table, model, seed, _fold = key.split("/")
        out.setdefault((table, model), {}).setdefault(int(seed), []).append(cell)
    return out


@section(
    "synthetic_elbo",
    page=PAGE,
    title="Held-out ELBO: a likelihood per column vs all-Gaussian on the one-hot table",
    command=COMMAND + " --only elbo",
)
def elbo_md(runs):
    run = runs[-1]
    r, cfg = run["results"], run["config"]
    cells = _elbo_cells(r)
    params = ", ".join(f"{k}={v!r}" for k, v in cfg["skvae_params"].items())
    md = [
        "5-fold CV (`KFold(5, shuffle=True, random_state=0)`) on the whole "
        f"table, `VAETransformer({params}, n_iter_no_change=max(10, "
        f"ceil({cfg['patience_steps']} / minibatches per epoch)), "
        "random_state=seed)` (as in the quality section) with the "
        "likelihoods below; each held-out term in nats per row (mean over "
        "the test rows), "
        + (
            f"mean ± sd over the folds (one seed, {cfg['seeds'][0]})."
            if len(cfg["seeds"]) == 1
            else "the mean over folds, then mean ± sd over seeds "
            f"{', '.join(map(str, cfg['seeds']))}."
        ),
        "",
        "**What compares.** `score` is the ELBO as each model computes it. It "
        "does not compare across the rows of a table: a Gaussian gives a "
        "one-hot or integer column a *density*, which grows without bound as "
        "the variance shrinks, while a categorical, Poisson or negative "
        "binomial likelihood gives a *probability* (at most 1). So each "
        "Gaussian over a discrete column is also scored as the probability of "
        "the value's cell, Phi((x + w/2 - mu)/sigma) - Phi((x - w/2 - mu)/"
        "sigma) (a discretized Gaussian; w = "
        + ", ".join(
            f"{w:g} for {c}" for t in r["discrete"].values() for c, w in t.items()
        )
        + "): a proper probability over the integer lattice (over every "
        "0/1 vector for a one-hot group, so it loses the mass it puts on "
        "vectors that are not one-hot). The columns marked *comparable* and "
        "the comparable ELBO (their sum minus the KL) are then bounds on the "
        "log-likelihood of the same data in the same measure for every model: "
        "densities for the real-valued columns, probabilities for the discrete "
        "ones. The real-valued columns have the same likelihood in every "
        "model (Gaussian, a learned variance per column: one block per column "
        "in `gaussian_onehot`, one block of them all in the others); their "
        "terms differ only through the fitted networks and the shared code z. "
        "A discrete column inside a Gaussian block (seattle's precipitation in "
        "`mixed`) is scored as its cell's probability too. Missing entries "
        "(cars) are left out of every term.",
        "",
    ]
    gaps = {}
    for key, c in r["cells"].items():
        model = key.split("/")[1]
        gap = abs(sum(c["raw"].values()) - c["kl"] - c["score"])
        gaps[model] = max(gaps.get(model, 0.0), gap)
    md += [
        "Check: in every fold, the raw terms minus the KL (16 draws of z per "
        "row) are within "
        + ", ".join(f"{gap:.3f} nats (`{m}`)" for m, gap in gaps.items())
        + " of `score` (its own 16 draws), so the blocks add up to the model's "
        "ELBO. The two are Monte Carlo estimates from different draws of z; "
        "the gap is a measure of their noise, largest for the all-Gaussian "
        "model of the one-hot table.",
        "",
    ]
    for table in dict.fromkeys(t for t, _ in cells):
        models = [m for t, m in cells if t == table]
        discrete = list(r["discrete"][table])
        md += [f"`{table}`:", ""]
        for model in models:
            md.append(f"- `{model}`: {r['models'][f'{table}/{model}']}")
        md.append("")
        header = [
            "model",
            "score (as computed)",
            "real-valued columns",
            *[f"{c} (comparable)" for c in discrete],
            "KL",
            "**comparable ELBO**",
            "epochs",
            "fit CPU s",
        ]
        rows = []
        for model in models:
            per_seed = cells[(table, model)]

            def fold_mean(fn, per_seed=per_seed):
                # One seed: the folds' values (mean ± sd over folds); several:
                # each seed's mean over folds (mean ± sd over seeds).
                if len(per_seed) == 1:
                    return [fn(c) for c in next(iter(per_seed.values()))]
                return [np.mean([fn(c) for c in folds]) for folds in per_seed.values()]

            rows.append(
                [
                    f"`{model}`",
                    mean_sd(fold_mean(lambda c: c["score"]), 2),
                    mean_sd(fold_mean(lambda c: c["comparable"]["numeric"]), 2),
                    *[
                        mean_sd(fold_mean(lambda c, col=col: c["comparable"][col]), 3)
                        for col in discrete
                    ],
                    mean_sd(fold_mean(lambda c: c["kl"]), 2),
                    "**"
                    + mean_sd(
                        fold_mean(lambda c: sum(c["comparable"].values()) - c["kl"]),
                        2,
                    )
                    + "**",
                    f"{np.mean(fold_mean(lambda c: c['epochs'])):.0f}",
                    f"{np.mean(fold_mean(lambda c: c['fit_cpu_s'])):.1f}",
                ]
            )
        md += [md_table(header, rows), ""]
        raw_rows = []
        for model in models:
            per_seed = cells[(table, model)]
            raw_rows.append(
                [f"`{model}`"]
                + [
                    mean_sd(
                        [c["raw"][col] for c in next(iter(per_seed.values()))]
                        if len(per_seed) == 1
                        else [
                            np.mean([c["raw"][col] for c in folds])
                            for folds in per_seed.values()
                        ],
                        3,
                    )
                    for col in discrete
                ]
            )
        md += [
            "The discrete columns' terms as each model computes them (a Gaussian's "
            "density; not comparable across models):",
            "",
            md_table(["model", *discrete], raw_rows),
            "",
        ]
    return md

"""Write RESULTS_outlier.md from the JSON that bench_outlier.py measured.

Usage (from the repository root)::

    python benchmarks/report_outlier.py          # JSON -> RESULTS_outlier.md
    python benchmarks/report_outlier.py --quick    # the same in benchmarks/quick/

Measuring and reporting are separate, so the report can be rewritten without
rerunning an hour of fits.
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FAMILY_NAMES = {
    "digits": "digits",
    "fashion_mnist": "Fashion-MNIST",
    "breast_cancer": "breast_cancer",
}
BASELINES = (
    "IsolationForest",
    "LocalOutlierFactor",
    "OneClassSVM",
    "PCA + GaussianMixture",
    "PyOD VAE",
)


def label(row, default_score):
    """The row's method as shown in the tables."""
    if row["method"] != "VAEOutlierDetector":
        return row["method"]
    name = f"VAE, {row['score_type']}"
    if row["variant"] != "default":
        name += f" ({row['variant']})"
    elif row["score_type"] == default_score:
        name += " (default)"
    return name


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def median_times(times, name, family):
    if (name, family) not in times:
        return ""
    fit, score = times[name, family]["fit"], times[name, family]["score"]
    return f"{np.median(fit):.2f} / {np.median(score):.2f}"


def task_means(rows, key):
    """{(family, method label): {task: mean over seeds of key}}."""
    values = defaultdict(lambda: defaultdict(list))
    for r in rows:
        values[r["family"], r["label"]][r["task"]].append(r[key])
    return {k: {t: float(np.mean(v)) for t, v in d.items()} for k, d in values.items()}


def render(data):
    meta, rows = data["meta"], data["rows"]
    default_score = meta["vae_defaults"]["score_type"]
    for r in rows:
        r["label"] = label(r, default_score)
    families = [f for f in FAMILY_NAMES if any(r["family"] == f for r in rows)]
    n_runs = defaultdict(set)  # (family, label) -> {(task, seed)}
    for r in rows:
        n_runs[r["family"], r["label"]].add((r["task"], r["seed"]))
    base_runs = {f: n_runs[f, "IsolationForest"] for f in families}
    columns = {
        f: f"{FAMILY_NAMES[f]} ({len({t for t, _ in base_runs[f]})} tasks x "
        f"{len(meta['seeds'][f])} seeds)"
        for f in families
    }
    labels = list(
        dict.fromkeys(r["label"] for r in rows if r["label"] not in BASELINES)
    )
    labels += list(BASELINES)
    auc, ap = task_means(rows, "roc_auc"), task_means(rows, "average_precision")
    default_label = f"VAE, {default_score} (default)"

    def mean_over(metric, family, name):
        tasks = metric.get((family, name))
        return None if tasks is None else float(np.mean(list(tasks.values())))

    def overall(metric, name):
        """Mean over every task of every family (each task counts once)."""
        vals = [v for f in families for v in metric.get((f, name), {}).values()]
        complete = all((f, name) in metric for f in families)
        return float(np.mean(vals)) if vals and complete else None

    fmt = "{:.3f}".format
    summary = []
    for name in labels:
        cells = [name]
        for f in families:
            a, p = mean_over(auc, f, name), mean_over(ap, f, name)
            cell = "" if a is None else f"{fmt(a)} / {fmt(p)}"
            runs = n_runs.get((f, name), set())
            if cell and runs != base_runs[f]:
                cell += f" ({len(runs)} runs)"  # measured on fewer task-seeds
            cells.append(cell)
        o = overall(auc, name)
        cells.append("" if o is None else fmt(o))
        summary.append(cells)

    complete = [n for n in labels if overall(auc, n) is not None]
    ranking = sorted(complete, key=lambda n: -overall(auc, n))
    best = ranking[0]
    other = next(n for n in ranking if not n.startswith("VAE"))
    run_names = ", ".join(FAMILY_NAMES[f] for f in families)
    d_vae = mean_over(auc, "digits", default_label)
    d_gmm = mean_over(auc, "digits", "PCA + GaussianMixture")

    default_auc, other_auc = overall(auc, default_label), overall(auc, other)
    result = [
        f"- Best mean ROC AUC over all tasks ({run_names}): "
        f"**{best}** ({fmt(overall(auc, best))}); the best method that is not "
        f"the VAE: {other} ({fmt(other_auc)}); VAEOutlierDetector at "
        f"its defaults: {fmt(default_auc)} "
        f"(rank {ranking.index(default_label) + 1} of {len(ranking)}; "
        f"{default_auc - overall(auc, best):+.4f} from the best "
        f"row, {default_auc - other_auc:+.4f} from {other}): "
        + (
            "at its defaults, ahead of every other method."
            if default_auc > other_auc
            else "ahead of every other method with a variant, not at its defaults."
            if best.startswith("VAE")
            else f"behind {other}."
        ),
    ]
    if d_vae is not None and d_gmm is not None:
        result.append(
            f"- Digits: VAEOutlierDetector {fmt(d_vae)}, PCA + GaussianMixture "
            f"{fmt(d_gmm)}: the VAE is {'ahead' if d_vae > d_gmm else 'behind'}."
        )
    provenance = [
        "Written by `python benchmarks/report_outlier.py` from `results_outlier.json`, "
        "which `python benchmarks/bench_outlier.py` measured "
        f"({'QUICK smoke run, not meaningful' if meta['quick'] else 'full run'}; "
        "seeds "
        + "; ".join(f"{FAMILY_NAMES[f]} {v}" for f, v in meta["seeds"].items())
        + "). The tasks, the splits and the scaling of each "
        "method's input are in that script's docstring. Each detector is fitted on "
        "normal rows only and ranks the test rows; the novelty is the positive class. "
        f"{meta['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ". The machine was shared with other jobs: times are indicative.",
        "",
        *[f"Note: {note}\n" for note in meta.get("notes", [])],
    ]
    out = [
        "# Novelty detection: VAEOutlierDetector against other detectors",
        "",
        "Each detector is fitted on normal rows only and ranks the test rows; the "
        "novelty is the positive class (one class held out in turn from digits "
        "and Fashion-MNIST, malignant tumours in breast_cancer). ROC AUC: 1 ranks "
        "every novelty first, 0.5 is chance.",
        "",
        "## Result",
        "",
        *result,
        "",
        "## Mean ROC AUC / average precision",
        "",
        "Means over tasks and seeds; the last column is the mean ROC AUC over all "
        "tasks of the families run (each task once).",
        "",
        table(
            ["method"] + [columns[f] for f in families] + ["all tasks, ROC AUC"],
            summary,
        ),
        "",
        "## The methods",
        "",
        "VAEOutlierDetector runs at its defaults "
        f"({', '.join(f'{k}={v!r}' for k, v in meta['vae_defaults'].items())}) "
        "unless a variant is named; its three score types come from one fit. "
        "Its 'auto' defaults: early stopping on 10 % held-out rows (when that is "
        "at least 10 rows), keeping the early-stopped model (the detector does not "
        "refit on all rows, so that the held-out rows' scores can set the 'auto' "
        "threshold); at least "
        "200 epochs and 4000 Adam steps; hidden widths (64, 64) below 1000 "
        "training rows, else (256, 256); a linear path beside each MLP, and a "
        "Gaussian model starts as the factor analysis of the training rows "
        "(docs/user_guide/training.rst). near_constant_ratio=0.1 (VAETransformer's "
        "is 1e-3): a feature whose variance is at most a tenth of the median "
        "feature's (a blank border pixel) keeps a decoder variance of at least a "
        "tenth of that median (docs/user_guide/likelihoods.rst); the variants "
        "keep it. prior='aggregate': the 'elbo' and 'iw' scores take as p(z) a "
        "GaussianMixture (full covariances, 1-16 components by BIC) fitted after "
        "training to draws from the aggregate posterior of the rows the VAE "
        "trained on, instead of N(0, I) (docs/user_guide/outlier_detection.rst). "
        "Baselines run at their defaults, except the GaussianMixture, whose number "
        "of components (1-16, full covariances, on PCA codes of at most 20 "
        "dimensions) is chosen by BIC on the training rows.",
        "",
        *(
            [
                "Fashion-MNIST was not rerun with these defaults (too slow for "
                "the session that made this file); its numbers with skvae 0.1's "
                "defaults are in this file's git history.",
                "",
            ]
            if "fashion_mnist" not in families
            else []
        ),
    ]
    for family in ("digits", "fashion_mnist"):
        if family not in families:
            continue
        shown = [default_label, *BASELINES]
        tasks = list(auc[family, default_label])
        out += [
            "",
            f"## {columns[family]}: ROC AUC per held-out class",
            "",
            "Mean over seeds.",
            "",
            table(
                ["held out", *shown],
                [
                    [
                        t,
                        *(
                            fmt(auc[family, n][t]) if (family, n) in auc else ""
                            for n in shown
                        ),
                    ]
                    for t in tasks
                ],
            ),
        ]

    times = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["method"] == "VAEOutlierDetector" and r["variant"] != "default":
            continue
        name = (
            "VAEOutlierDetector" if r["method"] == "VAEOutlierDetector" else r["label"]
        )
        if r["method"] == "VAEOutlierDetector":
            name = f"VAE, {r['score_type']}"
        times[name, r["family"]]["fit"].append(r["fit_s"])
        times[name, r["family"]]["score"].append(r["score_s"])
    names = list(dict.fromkeys(n for n, _ in times))
    out += [
        "",
        "## Times",
        "",
        "Median seconds per task: fit on the training rows / score the test rows "
        "(one torch thread). The VAE's three score types share one fit.",
        "",
        table(
            ["method"] + [FAMILY_NAMES[f] for f in families],
            [[n] + [median_times(times, n, f) for f in families] for n in names],
        ),
    ]

    flagged = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if "auto_flagged_normal" in r and r["variant"] == "default":
            for k in ("train", "normal", "novel"):
                flagged[r["family"]][k].append(r[f"auto_flagged_{k}"])
    if flagged:
        out += [
            "",
            "## The `contamination='auto'` threshold",
            "",
            "Fraction of rows that `predict` flags with the default offset (Tukey's "
            "lower fence of the scores of early stopping's held-out rows, which the "
            "VAE never trained on), mean over tasks and seeds.",
            "",
            table(
                [
                    "task family",
                    "training rows",
                    "test rows, normal",
                    "test rows, novel",
                ],
                [
                    [FAMILY_NAMES[f]]
                    + [
                        f"{100 * np.mean(flagged[f][k]):.1f} %"
                        for k in ("train", "normal", "novel")
                    ]
                    for f in families
                    if f in flagged
                ],
            ),
        ]
    out += ["", "## How this was measured", "", *provenance]
    return "\n".join(out).rstrip("\n") + "\n"


# ------------------------------------------------------------ ADBench family

ADBENCH_FILE = HERE / "results" / "outlier_adbench.json"
VAE = "VAEOutlierDetector"
ADBENCH_METHODS = (
    VAE,
    "IsolationForest",
    "LocalOutlierFactor",
    "PyOD KNN",
    "PyOD ECOD",
    "PyOD COPOD",
    "PyOD PCA",
    "GaussianMixture",
    "PyOD VAE",
)
SHORT = {
    VAE: "skvae",
    "IsolationForest": "IForest",
    "LocalOutlierFactor": "LOF",
    "PyOD KNN": "KNN",
    "PyOD ECOD": "ECOD",
    "PyOD COPOD": "COPOD",
    "PyOD PCA": "PCA",
    "GaussianMixture": "GMM",
    "PyOD VAE": "PyOD VAE",
}


def _adbench_label(row):
    if row["method"] != VAE or row["variant"] == "default":
        return row["method"]
    return f"{VAE} ({row['variant']})"


def _cell_means(rows, names, tables, seeds_of, key):
    """{name: {table: mean of key over seeds_of[table]}}."""
    out = defaultdict(dict)
    for name in names:
        for t in tables:
            vals = [
                r[key]
                for r in rows
                if r["label"] == name and r["table"] == t and r["seed"] in seeds_of[t]
            ]
            if vals:
                out[name][t] = float(np.mean(vals))
    return out


def _ranks(auc, names, tables):
    """{name: {table: rank}} (1 = highest ROC AUC; ties share their mean rank)."""
    from scipy.stats import rankdata

    out = defaultdict(dict)
    for t in tables:
        ranks = rankdata([-auc[n][t] for n in names])
        for n, r in zip(names, ranks):
            out[n][t] = float(r)
    return out


def _summary(rows, names, tables, seeds_of):
    auc = _cell_means(rows, names, tables, seeds_of, "roc_auc")
    ap = _cell_means(rows, names, tables, seeds_of, "average_precision")
    fit = _cell_means(rows, names, tables, seeds_of, "fit_cpu_s")
    rank = _ranks(auc, names, tables)
    ap_rank = _ranks(ap, names, tables)
    stats = {
        n: {
            "auc": np.mean([auc[n][t] for t in tables]),
            "rank": np.mean([rank[n][t] for t in tables]),
            "ap": np.mean([ap[n][t] for t in tables]),
            "ap_rank": np.mean([ap_rank[n][t] for t in tables]),
            "fit_median": np.median([fit[n][t] for t in tables]),
            "fit_max": np.max([fit[n][t] for t in tables]),
            "wins": sum(rank[n][t] == 1 for t in tables),
        }
        for n in names
    }
    order = sorted(names, key=lambda n: stats[n]["rank"])
    lines = table(
        [
            "method",
            "mean ROC AUC",
            f"mean rank (of {len(names)})",
            "mean AP",
            "mean AP rank",
            "tables won",
            "fit CPU s, median / max",
        ],
        [
            [
                f"**{n}**" if n.startswith(VAE) else n,
                f"{stats[n]['auc']:.3f}",
                f"{stats[n]['rank']:.2f}",
                f"{stats[n]['ap']:.3f}",
                f"{stats[n]['ap_rank']:.2f}",
                stats[n]["wins"],
                f"{stats[n]['fit_median']:.2f} / {stats[n]['fit_max']:.1f}",
            ]
            for n in order
        ],
    )
    return lines, auc, ap, stats


# The families of contaminated tables: ADBench's own, and tables built its
# way from other data (make_unseen_anomaly_tables.py), which the defaults
# were not chosen on.
ADBENCH_FAMILY = {
    "heading": "Outlier detection on contaminated tables: the ADBench family",
    "file": "outlier_adbench.json",
    "command": "python benchmarks/bench_outlier.py --only adbench",
    "tables": "classical tables of ADBench (Han et al., *ADBench: Anomaly "
    "Detection Benchmark*, NeurIPS 2022; `../shared/data/adbench/`, BSD-2-Clause)",
}
UNSEEN_FAMILY = {
    "heading": "Tables the defaults were not chosen on: built ADBench's way",
    "file": "outlier_unseen.json",
    "command": "python benchmarks/make_unseen_anomaly_tables.py --out DIR && "
    "SKVAE_ADBENCH_DIR=DIR python benchmarks/bench_outlier.py --only adbench "
    "--out benchmarks/results/outlier_unseen.json",
    "tables": "tables built as ADBench built its classical ones (one class of "
    "classification data as the anomalies, at its natural rate when rare, else "
    "downsampled to 5 %), from data outside ADBench: vega_datasets' "
    "seattle-weather (snow days) and cars (European cars), UCI adult "
    "(income >50K), Fashion-MNIST (bags) and iris (virginica); "
    "`make_unseen_anomaly_tables.py` says how. No default was chosen on them. "
    "Few test anomalies make three of them noisy (2 per seed in iris, 5 in cars, "
    "7 in seattle-weather; 250 in adult, 75 in Fashion-MNIST)",
}


def render_adbench(data, family=ADBENCH_FAMILY):
    meta = data["meta"]
    failed = [r for r in data["rows"] if r.get("roc_auc") is None]
    rows = [r for r in data["rows"] if r.get("roc_auc") is not None]
    for r in rows:
        r["label"] = _adbench_label(r)
    # Other scores of the same fits, shown as variants (no refit).
    for r in list(rows):
        for name, metrics in r.get("other_scores", {}).items():
            rows.append({**r, **metrics, "label": f"{r['label']} [{name}]"})
    tables = list(dict.fromkeys(r["table"] for r in rows))
    info = {}
    for r in rows:
        info.setdefault(
            r["table"],
            (r["n_train"], r["n_test"], r["n_features"], r["anomaly_rate_train"]),
        )
    present = {r["label"] for r in rows}
    baselines = [m for m in ADBENCH_METHODS[1:] if m in present]
    variants = sorted(n for n in present if n.startswith(VAE) and n != VAE)
    seeds = defaultdict(lambda: defaultdict(set))  # label -> table -> seeds
    for r in rows:
        seeds[r["label"]][r["table"]].add(r["seed"])

    def complete(names):
        return [n for n in names if all(seeds[n][t] for t in tables)]

    base_names = complete(baselines)
    ranked = complete([VAE]) + base_names
    common = {t: set.intersection(*(seeds[n][t] for n in ranked)) for t in tables}
    all_base = {t: set.intersection(*(seeds[n][t] for n in base_names)) for t in tables}
    n_seeds = sorted({len(s) for s in common.values()})
    vae_rows = [r for r in rows if r["label"] == VAE]
    vae_gits = sorted({r["git"] for r in vae_rows})
    fmt = "{:.3f}".format

    out = [
        "",
        f"## {family['heading']}",
        "",
        "Written by `python benchmarks/report_outlier.py` from "
        f"`results/{family['file']}`, which `{family['command']}` measured. "
        f"{len(tables)} {family['tables']}. "
        f"Protocol: {meta['protocol']}. Unlike the novelty tasks above, the training "
        "rows hold the anomalies at the table's own rate, and every detector is "
        "fitted on all of them without labels (`fit` on one unlabeled table, as a "
        "user would). "
        f"{meta['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ". The machine was shared with other jobs: CPU times are indicative.",
        "",
        "Every detector runs at its defaults: sklearn's IsolationForest "
        "(`random_state=seed`) and LocalOutlierFactor(novelty=True); PyOD's KNN "
        "(5 neighbours, largest distance), ECOD, COPOD, PCA (all components, "
        "weighted), and VAE (30 epochs, batch 32, latent 2, its own "
        "standardization); GaussianMixture: PCA to at most 20 dimensions, then "
        "the GaussianMixture of "
        + ", ".join(str(s) for s in meta["gmm_sizes"])
        + " full-covariance components with the lowest BIC on the training rows. "
        "VAEOutlierDetector at its defaults ("
        + ", ".join(
            f"{k}={v!r}"
            for k, v in meta["vae_defaults"].items()
            if k
            in (
                "n_components",
                "likelihood",
                "score_type",
                "prior",
                "max_iter",
                "early_stopping",
                "near_constant_ratio",
                "contamination",
                "max_samples",
                "trim_fraction",
            )
        )
        + f"), measured at git {', '.join(vae_gits) or '-'}. "
        "A rank is taken per table on the mean ROC AUC over seeds (1 = best, ties "
        "share their mean rank); the means are over tables, each table once.",
        "",
    ]
    if not ranked or VAE not in ranked:
        out += ["VAEOutlierDetector has not been measured on every table yet.", ""]
    nonfinite = defaultdict(set)
    for r in rows:
        if r.get("non_finite_scores"):
            nonfinite[r["label"]].add(r["table"])
    if nonfinite:
        out += [
            "Non-finite scores (ranked as the most anomalous): "
            + "; ".join(
                f"{n} on {', '.join(sorted(ts, key=tables.index))}"
                for n, ts in nonfinite.items()
            )
            + " (PyOD's PCA divides by the variance of a component, which is zero "
            "where a column is constant in the training rows; VAEOutlierDetector "
            "scores -inf a test row whose code overflows float32, a pixel that is "
            "constant in its training sample but not in that row).",
            "",
        ]
    if failed:
        out += [
            "Fits that failed (left out of the tables below): "
            + "; ".join(
                f"{_adbench_label(r)} on {r['table']} seed {r['seed']} ({r['error']})"
                for r in failed
            ),
            "",
        ]
    summary, auc, ap, stats = _summary(rows, ranked, tables, common)
    out += [
        "### Summary",
        "",
        "Seeds per table: "
        + (f"{n_seeds[0]}" if len(n_seeds) == 1 else f"{n_seeds[0]} to {n_seeds[-1]}")
        + " (those every method here was measured on).",
        "",
        summary,
        "",
    ]
    if VAE in stats:
        iso = "IsolationForest"
        gaps = {t: auc[VAE][t] - auc[iso][t] for t in tables}
        worst = min(gaps, key=gaps.get)
        best_other = min(base_names, key=lambda n: stats[n]["rank"])
        best_auc = max(base_names, key=lambda n: stats[n]["auc"])
        out += [
            "Targets of the outlier issue, at the detector's defaults:",
            "",
            f"- Mean rank: VAEOutlierDetector {stats[VAE]['rank']:.2f}, best other "
            f"{best_other} {stats[best_other]['rank']:.2f}: "
            + ("met." if stats[VAE]["rank"] < stats[best_other]["rank"] else "not met.")
            + f" Mean ROC AUC: {fmt(stats[VAE]['auc'])}, best other {best_auc} "
            f"{fmt(stats[best_auc]['auc'])}: "
            + ("met." if stats[VAE]["auc"] > stats[best_auc]["auc"] else "not met."),
            f"- No table more than 0.05 below IsolationForest: "
            f"{sum(g < -0.05 for g in gaps.values())} tables are; the worst is "
            f"{worst} ({fmt(auc[VAE][worst])} vs {fmt(auc[iso][worst])}).",
            f"- Median fit at most 3 CPU seconds: {stats[VAE]['fit_median']:.2f} s "
            f"({'met' if stats[VAE]['fit_median'] <= 3 else 'not met'}).",
            "",
        ]
    if base_names and any(all_base[t] != common[t] for t in tables):
        summary_b, _, _, _ = _summary(rows, base_names, tables, all_base)
        out += [
            "The baselines alone, over every seed they were measured on "
            f"({', '.join(str(s) for s in sorted(set.union(*all_base.values())))}):",
            "",
            summary_b,
            "",
        ]

    def per_table(metric, title):
        lines = [f"### {title} per table", ""]
        lines.append(
            "Mean over the same seeds as the summary; the best of each row in bold. "
            "Rows: training rows x features, anomaly rate."
        )
        lines.append("")
        body = []
        for t in tables:
            n_tr, _, d, rate = info[t]
            vals = [metric[n][t] for n in ranked]
            top = max(vals)
            body.append(
                [f"{t} ({n_tr}x{d}, {100 * rate:.{1 if rate >= 0.01 else 2}f} %)"]
                + [f"**{v:.3f}**" if v == top else f"{v:.3f}" for v in vals]
            )
        body.append(
            ["mean"]
            + [f"{np.mean([metric[n][t] for t in tables]):.3f}" for n in ranked]
        )
        lines.append(table(["table"] + [SHORT.get(n, n) for n in ranked], body))
        lines.append("")
        return lines

    if ranked:
        out += per_table(auc, "ROC AUC")
        out += per_table(ap, "Average precision")

    if vae_rows:
        out += [
            "### `predict` of VAEOutlierDetector on contaminated tables",
            "",
            "`contamination='auto'` (Tukey's fence of the detector's score on "
            "early stopping's held-out rows, pooled over its members, which are "
            "contaminated here too): the fraction of test rows "
            "`predict` flags against the true anomaly rate, and the F1 of "
            "`predict` with the anomalies as the positive class; mean over the "
            "seeds measured, with the detector's epochs and fit CPU seconds.",
            "",
        ]
        body = []
        for t in tables:
            rs = [r for r in vae_rows if r["table"] == t]
            if not rs:
                continue
            body.append(
                [
                    t,
                    f"{np.mean([r['anomaly_rate_test'] for r in rs]):.3f}",
                    f"{np.mean([r['flagged_test'] for r in rs]):.3f}",
                    f"{np.mean([r['predict_f1'] for r in rs]):.3f}",
                    f"{np.mean([r['n_iter'] for r in rs]):.0f}",
                    f"{np.mean([r['fit_cpu_s'] for r in rs]):.1f}",
                ]
            )
        rates = [r["anomaly_rate_test"] for r in vae_rows]
        flags = [r["flagged_test"] for r in vae_rows]
        body.append(
            [
                "mean",
                f"{np.mean(rates):.3f}",
                f"{np.mean(flags):.3f}",
                f"{np.mean([r['predict_f1'] for r in vae_rows]):.3f}",
                "",
                f"median {np.median([r['fit_cpu_s'] for r in vae_rows]):.1f}",
            ]
        )
        out += [
            table(
                [
                    "table",
                    "anomaly rate",
                    "flagged by predict",
                    "F1 of predict",
                    "epochs",
                    "fit CPU s",
                ],
                body,
            ),
            "",
        ]

    if variants and base_names:
        out += [
            "### Variants of VAEOutlierDetector",
            "",
            "Settings other than the defaults, each ranked in place of the "
            "defaults against the baselines on the tables and seeds it was "
            "measured on (exploration; the defaults are the rows above). "
            "A name in brackets is another score of the same fits: "
            "`reconstruction_probability`, the ELBO under N(0, I) instead of the "
            "ex-post prior, or the latent density (the ex-post prior's "
            "log-density of the posterior mean, alone).",
            "",
        ]
        body = []
        for v in [VAE, *variants]:
            ts = [t for t in tables if seeds[v][t]]
            s_of = {
                t: seeds[v][t].intersection(*(seeds[n][t] for n in base_names))
                for t in ts
            }
            ts = [t for t in ts if s_of[t]]
            if not ts:
                continue
            _, a, _, st = _summary(rows, [v, *base_names], ts, s_of)
            params = next((r.get("vae_params") for r in rows if r["label"] == v), None)
            body.append(
                [
                    v,
                    f"`{json.dumps(params)}`" if params else "defaults",
                    f"{len(ts)} x {sorted(set.union(*s_of.values()))}",
                    f"{st[v]['auc']:.3f}",
                    f"{st[v]['rank']:.2f}",
                    f"{st[v]['ap']:.3f}",
                    f"{st[v]['fit_median']:.2f}",
                ]
            )
        out += [
            table(
                [
                    "VAE",
                    "parameters",
                    "tables x seeds",
                    "mean ROC AUC",
                    f"mean rank (of {len(base_names) + 1})",
                    "mean AP",
                    "median fit CPU s",
                ],
                body,
            ),
            "",
        ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the --quick run's files")
    args = parser.parse_args(argv)
    folder = HERE / "quick" if args.quick else HERE
    data = json.loads((folder / "results_outlier.json").read_text())
    path = folder / "RESULTS_outlier.md"
    text = render(data)
    for family in (ADBENCH_FAMILY, UNSEEN_FAMILY):
        results = folder / "results" / family["file"]
        if results.exists():
            text += render_adbench(json.loads(results.read_text()), family)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the --quick run's files")
    args = parser.parse_args(argv)
    folder = HERE / "quick" if args.quick else HERE
    data = json.loads((folder / "results_outlier.json").read_text())
    path = folder / "RESULTS_outlier.md"
    path.write_text(render(data))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

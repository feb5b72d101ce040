"""Report sections of ``RESULTS.md``: the three sections of ``run.py``, and its plot."""

import numpy as np
from _common import md_table
from _report import page, plot, section


def summary(data):
    """The result first: the wrapper's cost per epoch, from the speed run."""
    runs = data.get("speed")
    if not runs:
        return []
    ratios = {
        (key, batch): r["epoch_ratio"]
        for key in ("digits", "fmnist")
        for batch, r in runs[-1]["results"].get(key, {}).items()
    }
    if not ratios:
        return []
    (key, batch), worst = max(ratios.items(), key=lambda item: item[1])
    name = {"digits": "digits", "fmnist": "Fashion-MNIST"}[key]
    return [
        f"**A median training epoch of `VAETransformer` takes "
        f"{min(ratios.values()):.2f} to {worst:.2f} times that of a bare PyTorch "
        f"loop of the same model**, over {len(ratios)} combinations of data and "
        f"batch size; the most with the smallest steps ({name}, batch {batch}), "
        "where skorch's per-batch bookkeeping weighs most. The held-out "
        "log-likelihoods of its models against FactorAnalysis, PCA and the bare "
        "loop's follow.",
        "",
    ]


page(
    "RESULTS.md",
    "skvae benchmarks",
    summary=summary,
    intro=[
        "Speed of `VAETransformer` against a bare PyTorch loop of the same model, "
        "and the quality of its models against FactorAnalysis, PCA and that "
        "reference. Measured by `python benchmarks/run.py` (sections `speed`, "
        "`quality`, `fmnist`).",
        "",
    ],
)


@section(
    "speed",
    page="RESULTS.md",
    title="Speed: `VAETransformer` against a bare PyTorch loop",
    command="python benchmarks/run.py --only speed",
)
def speed_md(runs):
    run = runs[-1]
    sp_, cfg = run["results"], run["config"]
    md = [
        "### Training speed",
        "",
        "The bare loop (`benchmarks/bare_vae.py`) trains the same "
        "`skvae._modules` networks from the same initial weights with the "
        "same seeds, batches and noise; its training losses match "
        "`loss_curve_` to float32 rounding (max |diff| column), so the time "
        "difference is the wrapper's overhead. Every timing is a median over "
        "repeats, skvae and the bare loop interleaved in one process "
        "(alternating which goes first), and reported as a ratio; the range of "
        "the per-repeat ratios is given too. Per-epoch ratio: skorch's "
        "own epoch timer (`history[:, 'dur']`, all of skorch's loop, "
        "history and callbacks) against the bare loop's epochs, median over "
        "epochs, then over repeats (1.05 or less: skorch's loop costs at most "
        "5 %). "
        "Fit setup: the rest of the `fit` call (input validation, the "
        "per-feature mean and variance, building the net), once per fit. "
        "Whole fit / bare: the full `fit` call against the bare loop alone.",
        "",
    ]
    rows = []
    for data, label in (
        ("digits", "digits 1797x64, Gaussian, k=10"),
        (
            "fmnist",
            f"Fashion-MNIST binarized {cfg['fmnist_n'] or 60000}x784, Bernoulli, k=20",
        ),
    ):
        for bs, r in sp_.get(data, {}).items():
            rows.append(
                [
                    label,
                    bs,
                    f"{r['epoch_fit_ms']:.1f}",
                    f"{r['epoch_bare_ms']:.1f}",
                    f"**{r['epoch_ratio']:.3f}**",
                    f"{r['epoch_ratio_min']:.3f}-{r['epoch_ratio_max']:.3f}",
                    f"{r['setup_ms']:.0f}",
                    f"{r['ratio']:.3f}",
                    f"{r['loss_max_abs_diff']:.1e}",
                ]
            )
    md += [
        md_table(
            [
                "data",
                "batch",
                "skvae ms/epoch",
                "bare ms/epoch",
                "per-epoch ratio (median)",
                "range",
                "fit setup ms",
                "whole fit / bare",
                "max loss diff",
            ],
            rows,
        ),
        "",
        f"Epochs per measurement: digits {cfg['digits_epochs']} "
        f"({cfg['repeats']} repeats), Fashion-MNIST {cfg['fmnist_epochs']} "
        f"({cfg['fmnist_repeats']} repeats).",
        "",
    ]
    if sp_.get("fmnist_missing"):
        md += [
            "Fashion-MNIST was not installed (`apt-get install "
            "dataset-fashion-mnist`): its rows and the later tables are missing.",
            "",
        ]
    if sp_.get("compile"):
        md += compile_md(sp_["compile"])
    if sp_.get("inference"):
        md += inference_md(sp_["inference"])
    if sp_.get("scaling"):
        md += scaling_md(sp_["scaling"])
    return md


def compile_md(comp):
    md = [
        "### torch.compile on CPU",
        "",
        "Bare loop with its encoder and decoder wrapped in "
        "`torch.compile` (inductor, default mode) against "
        "eager mode, batch 128; epoch 1 of the compiled run includes "
        "compilation.",
        "",
    ]
    rows = []
    for data, c in comp.items():
        if "error" in c:
            rows.append([data, "error", c["error"], "", ""])
            continue
        rows.append(
            [
                data,
                f"{c['eager']['later_ms']:.1f}",
                f"{c['compiled']['later_ms']:.1f}",
                f"{c['compiled']['first_s']:.1f}",
                f"{c['ratio']:.2f}",
            ]
        )
    header = [
        "data",
        "eager ms/epoch",
        "compiled ms/epoch",
        "compiled epoch 1 (s)",
        "compiled / eager",
    ]
    return md + [md_table(header, rows), ""]


def inference_md(inf):
    md = [
        "### Inference throughput (float32 input)",
        "",
        "`transform` against the bare encoder forward under "
        "`torch.no_grad()`; `score_samples` (16 shared noise draws) "
        "against a bare 16-draw ELBO. Ratio = skvae time / bare time "
        "(1.2 or less: the wrapper's validation and batching cost at most 20 %).",
        "",
    ]
    rows = [
        [
            data,
            f"{r['transform_rows_s']:,.0f}",
            f"{r['encoder_rows_s']:,.0f}",
            f"**{r['transform_ratio']:.2f}**",
            f"{r['score_rows_s']:,.0f}",
            f"{r['elbo_rows_s']:,.0f}",
            f"**{r['score_ratio']:.2f}**",
        ]
        for data, r in inf.items()
    ]
    header = [
        "data",
        "transform rows/s",
        "bare encoder rows/s",
        "ratio",
        "score_samples rows/s",
        "bare ELBO rows/s",
        "ratio",
    ]
    return md + [
        md_table(header, rows),
        "",
        "digits: all 1797 rows; Fashion-MNIST: the 10,000 test rows.",
        "",
    ]


def scaling_md(sc):
    rows = [
        [n, f"{s:.3f}", f"{1e6 * s / n:.1f}"] for n, s in zip(sc["n"], sc["seconds"])
    ]
    return [
        "### fit time vs n_samples",
        "",
        "Binarized Fashion-MNIST subsets, 1 epoch, batch 128, Bernoulli, k=20.",
        "",
        md_table(["n_samples", "fit s", "us per row"], rows),
        "",
        f"Least-squares line: {sc['slope_us_per_row']:.1f} us per row "
        f"+ {sc['intercept_s']:.3f} s, R^2 = {sc['r2']:.4f}.",
        "",
    ]


@section(
    "quality",
    page="RESULTS.md",
    title="Quality on digits: held-out log-likelihood and codes",
    command="python benchmarks/run.py --only quality",
)
def quality_md(runs):
    run = runs[-1]
    q, cfg = run["results"], run["config"]
    md = [
        "### Held-out log-likelihood",
        "",
        "sklearn digits dequantized, `(pixel + U(0, 1)) / 17`, 25 % held out "
        "(`train_test_split(random_state=0)`). `FactorAnalysis.score` and "
        "`PCA.score` are exact log-likelihoods; for skvae, the ELBO "
        "(`score`) and the importance-weighted estimate "
        f"(`score_samples_iw`, K={cfg['iw_k']}). Nats per image, mean over "
        f"seeds {cfg['seeds']}. skvae default: `VAETransformer(n_components=k)`"
        + (
            f" with max_iter={cfg['quality_max_iter']}"
            if cfg["quality_max_iter"]
            else " at its 'auto' defaults (on these 1347 rows: (256, 256) relu, "
            "linear paths and the factor-analysis start, batch 128, step size "
            "5e-3 warmed up over the first iteration and divided by 5 on "
            "plateaus, iterations of at least 16 steps, the weights kept as "
            "their moving average, early stopping on 20 % of the rows with a "
            "patience of 3 iterations and at most 200, then a refit on all "
            "rows for the chosen number of iterations)"
        )
        + "; early_stopping: the same with `early_stopping=True` (no refit: "
        "the model trained on 90 % of the rows, validation_fraction='auto' "
        "holding out 10 % without a refit). Target: skvae's defaults beat "
        "FactorAnalysis by >= 10 nats at every n_components.",
        "",
    ]
    rows = []
    for k, row in q["ll"].items():
        for name in ("default", "early_stopping"):
            runs_k = row[name]
            iw = np.array([r["test_iw"] for r in runs_k])
            elbo = np.array([r["test_elbo"] for r in runs_k])
            margin = iw - row["fa"]
            rows.append(
                [
                    k,
                    name,
                    f"{row['fa']:.1f}",
                    f"{row['pca']:.1f}",
                    f"{elbo.mean():.1f}",
                    f"{iw.mean():.1f}",
                    f"**{margin.mean():+.1f}** ({margin.min():+.1f} to "
                    f"{margin.max():+.1f})",
                    f"{(elbo - row['fa']).mean():+.1f}",
                    f"{np.mean([r['train_elbo'] for r in runs_k]):.1f}",
                    "/".join(str(r["n_iter"]) for r in runs_k),
                    f"{np.mean([r['fit_s'] for r in runs_k]):.1f}",
                ]
            )
    header = [
        "k",
        "skvae",
        "FA",
        "PCA",
        "skvae ELBO",
        "skvae IW",
        "IW - FA (seed range)",
        "ELBO - FA",
        "train ELBO",
        "epochs",
        "fit s",
    ]
    md += [md_table(header, rows), ""]
    md += [
        "### Codes: reconstruction and classification",
        "",
        "Held-out reconstruction MSE of `inverse_transform(transform(X))` "
        "and accuracy of `StandardScaler + LogisticRegression` fitted on the "
        "training codes, skvae default (first seed) vs PCA at the same k, "
        "same dequantized split.",
        "",
    ]
    rows = [
        [
            k,
            f"{c['vae_mse']:.4f}",
            f"{c['pca_mse']:.4f}",
            f"{c['vae_acc']:.3f}",
            f"{c['pca_acc']:.3f}",
        ]
        for k, c in q["codes"].items()
    ]
    header = ["k", "skvae MSE", "PCA MSE", "skvae accuracy", "PCA accuracy"]
    return md + [md_table(header, rows), ""]


@section(
    "fmnist",
    page="RESULTS.md",
    title="Binarized Fashion-MNIST: skvae vs the bare reference",
    command="python benchmarks/run.py --only fmnist",
)
def fmnist_md(runs):
    f = runs[-1]["results"]
    if f.get("missing"):
        return [
            "Fashion-MNIST was not installed (`apt-get install "
            "dataset-fashion-mnist`): nothing measured.",
            "",
        ]
    md = [
        f"{f['n_train']} training / {f['n_test']} test images binarized at 0.5, "
        f"Bernoulli likelihood, n_components=20, (256, 256) relu, Adam 1e-3, "
        f"batch 128, {f['epochs']} epochs for every model. 'bare (same seed)' "
        "starts from skvae's initial weights and replays its batches and noise; "
        "'bare (other seed)' is an independent initialization and batch order "
        "(the seed-to-seed spread). Test ELBO and IW log-likelihood computed by "
        "the bare reference code for every model (16 draws; IW with "
        f"K={f['iw_k']} on the first {f['iw_rows']} test rows). Target: skvae "
        "within 0.5 nats of the reference.",
        "",
    ]
    ref = f["runs"]["bare (other seed)"]
    rows = [
        [
            name,
            f"{r['train_elbo'][-1]:.2f}",
            f"{r['test_elbo']:.2f}",
            f"{r['test_iw']:.2f}",
            f"{r['test_elbo'] - ref['test_elbo']:+.2f}",
            f"{r['test_iw'] - ref['test_iw']:+.2f}",
        ]
        for name, r in f["runs"].items()
    ]
    header = [
        "model",
        "train ELBO (last epoch)",
        "test ELBO",
        "test IW",
        "ELBO vs other seed",
        "IW vs other seed",
    ]
    s = f["runs"]["skvae"]
    return md + [
        md_table(header, rows),
        "",
        f"skvae's own methods on the same model: `score(X_test)` = "
        f"{s['skvae_score']:.2f}, `score_samples_iw(K={f['iw_k']})` = "
        f"{s['skvae_score_iw']:.2f} (shared noise draws; the bare code draws "
        f"per row). skvae fit time {s['fit_s']:.0f} s.",
        "",
    ]


@plot("RESULTS.md", "results.png")
def results_png(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def latest(name):
        runs = data.get(name)
        return runs[-1]["results"] if runs else None

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    sp_ = latest("speed") or {}
    ax = axes[0, 0]
    labels, vals = [], []
    for name in ("digits", "fmnist"):
        for bs, r in sp_.get(name, {}).items():
            labels.append(f"{name}\nbs {bs}")
            vals.append(r.get("epoch_ratio", r["ratio"]))
    if vals:
        ax.bar(range(len(vals)), vals, color="C0")
        ax.set_xticks(range(len(vals)), labels, fontsize=8)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(1.05, color="r", ls="--", lw=0.8, label="1.05")
        ax.set_ylim(0.9, max(1.2, max(vals) + 0.05))
        ax.legend()
    ax.set_title("time per epoch: VAETransformer.fit / bare PyTorch loop")
    ax = axes[0, 1]
    sc = sp_.get("scaling")
    if sc:
        n = np.array(sc["n"])
        ax.plot(n, sc["seconds"], "o", label="VAETransformer.fit, 1 epoch")
        ax.plot(
            n,
            sc["intercept_s"] + 1e-6 * sc["slope_us_per_row"] * n,
            "-",
            label=f"linear fit, R^2={sc['r2']:.4f}",
        )
        ax.set_xlabel("n_samples")
        ax.set_ylabel("seconds")
        ax.legend()
    ax.set_title("fit time vs n_samples (Fashion-MNIST)")
    ax = axes[1, 0]
    q = latest("quality")
    if q:
        ll = {int(k): v for k, v in q["ll"].items()}
        ks = sorted(ll)
        ax.plot(ks, [ll[k]["fa"] for k in ks], "s-", label="FactorAnalysis")
        ax.plot(ks, [ll[k]["pca"] for k in ks], "^-", label="PCA")
        for name, style in (("default", "o-"), ("early_stopping", "o--")):
            ax.plot(
                ks,
                [np.mean([r["test_iw"] for r in ll[k][name]]) for k in ks],
                style,
                label=f"skvae {name} (IW)",
            )
        ax.set_xlabel("n_components")
        ax.set_ylabel("held-out log-likelihood (nats)")
        ax.legend()
    ax.set_title("dequantized digits, held-out")
    ax = axes[1, 1]
    f = latest("fmnist")
    if f and not f.get("missing"):
        for i, (name, r) in enumerate(f["runs"].items()):
            ep = np.arange(1, len(r["train_elbo"]) + 1)
            ax.plot(ep, r["train_elbo"], "-", color=f"C{i}", label=f"{name} train")
            if "test_elbo_curve" in r:
                ax.plot(
                    ep, r["test_elbo_curve"], "--", color=f"C{i}", label=f"{name} test"
                )
            else:
                ax.plot(
                    [ep[-1]],
                    [r["test_elbo"]],
                    "*",
                    ms=12,
                    color=f"C{i}",
                    label=f"{name} test (end)",
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel("ELBO (nats)")
        ax.legend(fontsize=8)
    ax.set_title("binarized Fashion-MNIST learning curves")
    fig.tight_layout()
    # No software version in the file: the PNG depends on the data alone.
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)

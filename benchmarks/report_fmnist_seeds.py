"""Report section of ``RESULTS_fmnist_seeds.md`` (``bench_fmnist_seeds.py``)."""

from _common import md_table
from _report import page, section


def summary(data):
    """The result first: skvae's models against the bare loop's."""
    runs = data.get("fmnist_seeds")
    if not runs:
        return []
    s = runs[-1]["results"]["summary"]
    sk, bare = s["skvae"], s["bare"]
    sds = [m[k] for m in (sk, bare) for k in ("elbo_sd", "iw_sd")]
    level = max(abs(s["diff_elbo"]), abs(s["diff_iw"])) <= 0.5
    return [
        f"**skvae's models {'match' if level else 'do not match'} those of a bare "
        "PyTorch loop** on binarized Fashion-MNIST: mean test ELBO "
        f"{sk['elbo_mean']:.2f} against {bare['elbo_mean']:.2f} nats per image, "
        f"importance-weighted log-likelihood {sk['iw_mean']:.2f} against "
        f"{bare['iw_mean']:.2f}; the seeds' own spread (sd) is "
        f"{min(sds):.2f}-{max(sds):.2f} nats.",
        "",
    ]


page(
    "RESULTS_fmnist_seeds.md",
    "skvae benchmarks: binarized Fashion-MNIST over seeds",
    summary=summary,
)


@section(
    "fmnist_seeds",
    page="RESULTS_fmnist_seeds.md",
    title="Binarized Fashion-MNIST: skvae vs the bare loop over seeds",
    command="python benchmarks/bench_fmnist_seeds.py",
)
def fmnist_seeds_md(runs):
    r = runs[-1]["results"]
    seeds = r["seeds"]
    summary = r["summary"]
    md = [
        f"{r['n_train']:,} training and {r['n_test']:,} test images, pixels > "
        "0.5, `VAETransformer(n_components=20, likelihood='bernoulli', "
        f"batch_size=128, max_iter={r['epochs']})` (default networks, lr 1e-3) "
        f"with seeds {span(seeds['skvae'])}; the bare loop (`bare_vae.py`) on "
        "the same networks from independent initializations (seeds "
        f"{span(seeds['bare'])}). Both scored by the same code: test ELBO (16 "
        f"draws) on all {r['n_test']:,} test images, importance-weighted "
        f"log-likelihood (K={r['iw_k']}) on the first {r['iw_rows']}. Nats per "
        "image; sd over seeds with ddof=1.",
        "",
    ]
    rows = []
    for name in ("skvae", "bare"):
        s = summary[name]
        rows.append(
            [
                name,
                ", ".join(f"{v:.2f}" for v in r["test_elbo"][name]),
                f"{s['elbo_mean']:.2f}",
                f"{s['elbo_sd']:.2f}",
                ", ".join(f"{v:.2f}" for v in r["test_iw"][name]),
                f"{s['iw_mean']:.2f}",
                f"{s['iw_sd']:.2f}",
            ]
        )
    header = ["model", "test ELBO per seed", "mean", "sd", "IW per seed", "mean", "sd"]
    return md + [
        md_table(header, rows),
        "",
        f"skvae minus bare, means: ELBO {summary['diff_elbo']:+.2f} nats, IW "
        f"{summary['diff_iw']:+.2f} nats: "
        + (
            "level (within 0.5 nats)."
            if max(abs(summary["diff_elbo"]), abs(summary["diff_iw"])) <= 0.5
            else "more than 0.5 nats apart."
        ),
        "",
    ]


def span(seeds):
    return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])

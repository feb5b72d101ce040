"""Report sections of ``RESULTS_production.md``: sparse memory, dense inference
memory, GridSearchCV n_jobs (``bench_sparse_memory.py``,
``bench_dense_inference_memory.py``, ``bench_gridsearch_njobs.py``)."""

import numpy as np
from _common import md_table
from _report import page, section, short_load


def summary(data):
    """The result first: the largest sparse matrix's peak memory against its
    dense copy, in the latest run that measured it."""
    runs = data.get("sparse_memory")
    if not runs:
        return []
    run = max(runs, key=lambda r: r["config"]["rows"] * r["config"]["features"])
    run = [r for r in runs if r["config"] == run["config"]][-1]
    c, phases = run["config"], run["results"]["phases"]
    peaks = {name: ph["peak_extra_mb"] for name, ph in phases.items()}
    if not peaks:
        return []
    dense_gb = c["rows"] * c["features"] * 4 / 1e9
    calls = " and ".join(f"{name} {mb:.0f} MiB" for name, mb in peaks.items())
    return [
        f"**Sparse input is never densified whole:** on a {c['rows']:,} x "
        f"{c['features']:,} CSR matrix at density {c['density']}, whose dense "
        f"float32 copy would take {dense_gb:.1f} GB, the peak extra memory was "
        f"{calls} (latest run). Dense inference and `GridSearchCV(n_jobs=2)` "
        "follow.",
        "",
    ]


page(
    "RESULTS_production.md",
    "Production benchmarks: sparse memory, dense inference, parallel grid search",
    summary=summary,
    intro=[
        "Memory figures hardly depend on the machine's load; timings do, a lot.",
        "",
    ],
)


@section(
    "sparse_memory",
    page="RESULTS_production.md",
    title="Peak memory of fit and transform on a large sparse matrix",
    command="python benchmarks/bench_sparse_memory.py",
    multi=True,
)
def sparse_memory_md(runs):
    cfg = runs[-1]["config"]
    p = cfg["params"]
    md = [
        "Bag-of-words-like data: a float32 CSR matrix whose entries are 1.0 at "
        "the given density (sizes per run; `make_data` in the script, "
        f"seed 0). `likelihood={p['likelihood']!r}`, "
        f"`n_components={p['n_components']}`, "
        f"`hidden_layer_sizes={tuple(p['hidden_layer_sizes'])}`, "
        f"`batch_size={p['batch_size']}`. Each phase runs in a fresh process. "
        "Fit: 1 epoch on all rows (after a 300-row warm-up fit, so that torch's "
        "lazily imported optimizer code is not counted). Transform: every row, "
        "with a model fitted on the first 2,000. 'Peak extra RSS' is `ru_maxrss` "
        "after the call minus the resident size just before it, so it includes "
        "torch's own allocations (batches, activations, gradients, Adam's state) "
        "and whatever the allocator keeps (an upper bound, marked <=, where "
        "the call set no new high-water mark); 'tracemalloc peak' counts the "
        "Python-heap (numpy and scipy) allocations made during the call.",
        "",
    ]
    rows, data_rows = [], []
    for run in runs:
        c, r = run["config"], run["results"]
        dense_gb = c["rows"] * c["features"] * 4 / 1e9
        nnz = f"{r['nnz']:,}" if r.get("nnz") is not None else "?"
        csr = f"{r['csr_mb']:.1f} MiB" if r.get("csr_mb") is not None else "?"
        data_rows.append(
            [
                run["label"],
                f"{c['rows']:,} x {c['features']:,}",
                c["density"],
                nnz,
                csr,
                f"{dense_gb:.1f} GB",
            ]
        )
        for phase, call in (("fit", "fit, 1 epoch"), ("transform", "transform")):
            ph = r["phases"].get(phase)
            if ph:
                rows.append(
                    [
                        run["label"],
                        call,
                        f"{ph['seconds']:.1f} s",
                        # no new high-water mark in the call: an upper bound
                        ("<= " if ph.get("peak_extra_exact") is False else "")
                        + f"{ph['peak_extra_mb']:.0f} MiB",
                        f"{ph['tracemalloc_peak_mb']:.1f} MiB",
                    ]
                )
    md += [
        md_table(
            [
                "run",
                "rows x features",
                "density",
                "entries",
                "CSR size",
                "dense float32",
            ],
            data_rows,
        ),
        "",
        md_table(
            [
                "run",
                "call",
                "time",
                "peak extra RSS during the call",
                "tracemalloc peak (numpy/scipy)",
            ],
            rows,
        ),
        "",
    ]
    peaks = [
        (ph["tracemalloc_peak_mb"], run["label"])
        for run in runs
        for ph in run["results"]["phases"].values()
        if ph.get("tracemalloc_peak_mb") is not None
    ]
    if peaks:
        peak, label = max(peaks)
        md += [
            f"Largest tracemalloc peak over these runs: {peak:.1f} MiB (*{label}*).",
            "",
        ]
    return md


@section(
    "dense_inference_memory",
    page="RESULTS_production.md",
    title="Inference on large dense input",
    command="python benchmarks/bench_dense_inference_memory.py",
)
def dense_inference_md(runs):
    r = runs[-1]["results"]
    md = [
        f"A {r['rows']:,} x {r['features']:,} float32 matrix "
        f"({r['input_mb']:.1f} MiB); `VAETransformer(n_components=10, "
        "hidden_layer_sizes=(128,))` fitted 1 epoch on its first 2,000 rows. "
        "tracemalloc peak of each call on every row: the numpy (Python-heap) "
        "allocations; torch's buffers (one batch of activations at a time) are "
        "outside its view.",
        "",
    ]
    rows = [
        [name, f"{c['output_mb']:.1f} MiB", f"{c['tracemalloc_peak_mb']:.1f} MiB"]
        + ([f"{c['seconds']:.2f} s"] if "seconds" in c else [])
        for name, c in r["calls"].items()
    ]
    header = ["call", "output", "tracemalloc peak"]
    if any("seconds" in c for c in r["calls"].values()):
        header.append("time (under tracemalloc)")
    extra = max(c["tracemalloc_peak_mb"] - c["output_mb"] for c in r["calls"].values())
    verdict = (
        f"Each call's tracemalloc peak exceeds its output by at most {extra:.1f} "
        f"MiB, against {r['input_mb']:.1f} MiB of input: "
        + (
            "numpy never copies the input."
            if extra < 0.5 * r["input_mb"]
            else "a call may copy the input."
        )
    )
    return md + [md_table(header, rows), "", verdict, ""]


@section(
    "gridsearch_njobs",
    page="RESULTS_production.md",
    title="GridSearchCV(n_jobs=2) vs n_jobs=1 on digits",
    command="python benchmarks/bench_gridsearch_njobs.py",
    multi=True,
)
def gridsearch_md(runs):
    cfg = runs[-1]["config"]
    grid = " x ".join(
        f"`{name}` in {{{', '.join(str(v) for v in values)}}}"
        for name, values in cfg["grid"].items()
    )
    n_points = int(np.prod([len(values) for values in cfg["grid"].values()]))
    n_rows, cv = 1797, cfg["cv"]
    md = [
        f"Grid {grid}, {cv}-fold CV, default network (256, 256), batch 128, "
        f"`max_iter` per run, on digits: {n_points * cv} fits on "
        f"{n_rows - n_rows // cv:,} rows plus the refit on {n_rows:,}. Each "
        "setting alternates with the other; the loky workers are started once "
        "beforehand (that start-up is paid by the first parallel search of a "
        "session only and is not in the times). Best and median wall time over "
        "the repeats.",
        "",
    ]
    rows = []
    for run in runs:
        c, r = run["config"], run["results"]
        t1, t2 = r["n_jobs_1"], r["n_jobs_2"]
        rows.append(
            [
                run["label"],
                f"{r['parent_threads']}"
                + (" (torch default)" if c.get("parent_threads") is None else ""),
                c["max_iter"],
                short_load(run["load"]),
                f"{t1['best_s']:.1f} s / {t1['median_s']:.1f} s",
                f"{t2['best_s']:.1f} s / {t2['median_s']:.1f} s",
                f"**{r['speedup_best']:.2f}x / {r['speedup_median']:.2f}x**",
                {True: "yes", False: "no", None: "?"}[r.get("same_scores")],
                "?"
                if r.get("worker_startup_s") is None
                else f"{r['worker_startup_s']:.1f} s",
            ]
        )
    header = [
        "run",
        "n_jobs=1 torch threads",
        "max_iter",
        "load",
        "n_jobs=1 (best / median)",
        "n_jobs=2 (best / median)",
        "speed-up best / median",
        "same scores",
        "worker start-up",
    ]
    md += [md_table(header, rows), ""]
    workers = [
        f"*{run['label']}*: "
        + ", ".join(str(n) for n in run["results"]["worker_torch_threads"])
        for run in runs
        if run["results"].get("worker_torch_threads")
    ]
    if workers:
        md += [
            "torch threads inside the loky workers (read from 4 tasks of "
            f"`Parallel(n_jobs=2)`): {'; '.join(workers)}.",
            "",
        ]
    if any(run["results"].get("same_scores") is False for run in runs):
        md += [
            "'same scores: no': a different thread count changes float summation "
            "order, and training amplifies it.",
            "",
        ]
    return md

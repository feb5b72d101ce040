"""Conditional rows on adult: ``VAETransformer.sample(given=...)`` (issue 23, item 3).

Protocol
--------
adult (``../shared/data/adult/adult.csv``, or ``--data``): 32,561 rows, read
with ``skipinitialspace=True``; the nine text columns as pandas categories
(``?`` kept as a category); split 80/20 with ``train_test_split(random_state
=0)``. ``VAETransformer(random_state=0)`` at its defaults is fitted on the
training rows (fit CPU seconds, one torch thread). Then 2,000 rows are drawn
with ``income`` fixed (``--value``, default ``>50K``), ``decoder_noise=True``,
and scored with SDMetrics' ``QualityReport`` against the real test rows with
that value. For comparison, on the same model:

* ``given``: ``sample(2000, given={"income": value})`` (the default: a
  defensive mixture of prior and encoder proposals);
* ``given, encoder proposals only``: the same with the encoder alone as
  proposal (the imputer's ``sample_posterior`` scheme);
* ``rejection``: unconditional rows, those with the value kept (as many
  drawn as it takes to keep 2,000);
* ``unconditional``: 2,000 unconditional rows, all incomes (what conditioning
  must beat);
* ``real training rows``: 2,000 training rows with the value (the ceiling
  of any synthesizer trained on them).

Writes ``results/conditional.json``. Usage::

    python benchmarks/bench_conditional.py [--value '<=50K'] [--given sex=Female]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_synthetic import quality  # noqa: E402  (SDMetrics QualityReport)

DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "adult" / "adult.csv"


def load_adult(path):
    """adult as a DataFrame, text columns as categories; and their names."""
    df = pd.read_csv(path, skipinitialspace=True)
    categorical = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    for c in categorical:
        df[c] = df[c].astype("category")
    return df, categorical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--value", default=">50K")
    parser.add_argument(
        "--given", action="append", default=[], help="more fixed columns, column=value"
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument(
        "--model", default=None, help="pickle the fitted model here, reuse it if there"
    )
    parser.add_argument("--out", default=str(HERE / "results" / "conditional.json"))
    args = parser.parse_args(argv)

    import torch
    from sklearn.model_selection import train_test_split

    import skvae._base as base
    from skvae import VAETransformer

    torch.set_num_threads(1)
    df, categorical = load_adult(args.data)
    train, test = train_test_split(df, test_size=0.2, random_state=0)
    given = {"income": args.value}
    for item in args.given:
        column, value = item.split("=", 1)
        given[column] = value if column in categorical else float(value)
    keep = np.ones(len(test), dtype=bool)
    keep_train = np.ones(len(train), dtype=bool)
    for column, value in given.items():
        keep &= (test[column] == value).to_numpy()
        keep_train &= (train[column] == value).to_numpy()
    real = test[keep]
    print(f"given {given}: {len(real)} real test rows", flush=True)

    if args.model and Path(args.model).exists():
        with open(args.model, "rb") as f:
            vae, fit_cpu, fit_wall = pickle.load(f)
    else:
        vae = VAETransformer(random_state=0)
        cpu, wall = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vae.fit(train)
        fit_cpu, fit_wall = time.process_time() - cpu, time.perf_counter() - wall
        if args.model:
            with open(args.model, "wb") as f:
                pickle.dump((vae, fit_cpu, fit_wall), f)
    vae.set_output(transform="pandas")
    print(
        f"fit: {vae.n_iter_} epochs, {fit_cpu:.0f} CPU s ({fit_wall:.0f} s wall)",
        flush=True,
    )

    rows = {}

    def timed(label, draw):
        cpu = time.process_time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            synthetic = draw()
        seconds = time.process_time() - cpu
        exact = all((synthetic[c] == v).all() for c, v in given.items())
        result = {
            **quality(real, synthetic[real.columns], categorical),
            "sample_cpu_s": round(seconds, 2),
            "given_exact": bool(exact),
            "warnings": [str(w.message) for w in caught],
        }
        rows[label] = result
        print(label, result, flush=True)

    n = args.n
    timed(
        "given", lambda: vae.sample(n, random_state=0, decoder_noise=True, given=given)
    )
    saved = base.CONDITIONAL_PRIOR_FRACTION
    base.CONDITIONAL_PRIOR_FRACTION = 0.0
    try:
        timed(
            "given, encoder proposals only",
            lambda: vae.sample(n, random_state=0, decoder_noise=True, given=given),
        )
    finally:
        base.CONDITIONAL_PRIOR_FRACTION = saved

    def rejection():
        kept, draws, seed = [], 0, 0
        while sum(len(k) for k in kept) < n:
            batch = vae.sample(20 * n, random_state=seed, decoder_noise=True)
            draws += len(batch)
            mask = np.ones(len(batch), dtype=bool)
            for c, v in given.items():
                mask &= (batch[c] == v).to_numpy()
            kept.append(batch[mask])
            seed += 1
        rows_ = pd.concat(kept).iloc[:n]
        rejection.acceptance = n / draws
        return rows_

    timed("rejection", rejection)
    rows["rejection"]["acceptance_rate_upper_bound"] = round(rejection.acceptance, 4)
    timed("unconditional", lambda: vae.sample(n, random_state=0, decoder_noise=True))
    timed(
        "real training rows",
        lambda: train[keep_train].sample(min(n, keep_train.sum()), random_state=0),
    )

    out = {
        "benchmark": "conditional",
        "command": "python benchmarks/bench_conditional.py "
        + " ".join(argv or sys.argv[1:]),
        "given": given,
        "n_rows": n,
        "real_test_rows": int(len(real)),
        "fit": {
            "epochs": int(vae.n_iter_),
            "cpu_s": round(fit_cpu, 1),
            "wall_s": round(fit_wall, 1),
            "params": "VAETransformer(random_state=0)",
        },
        "versions": {"torch": torch.__version__, "pandas": pd.__version__},
        "results": rows,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    runs = [r for r in runs if r.get("given") != given] + [out]
    path.write_text(
        json.dumps({"benchmark": "conditional", "runs": runs}, indent=1) + "\n"
    )
    print("wrote", path)


if __name__ == "__main__":
    main()

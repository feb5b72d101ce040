"""Imputation of a mixed table: VAEImputer on adult's categorical and numeric
columns together, against sklearn's imputers (issue 25, item 3).

The adult-categorical section of the imputation benchmark, in its own script
(``bench_imputation.py`` measures numeric matrices).

Protocol
--------
adult (``../shared/data/adult/adult.csv``, or ``--data``): 32,561 rows x 15
columns, read with ``skipinitialspace=True``; the nine text columns as pandas
categories (``?`` kept as a category: it is an observed value); the six
numeric columns standardized with the mean and standard deviation of the
complete table. Then 20 % of all entries, exactly floor(0.2 n p), drawn
uniformly without replacement (MCAR; the seed draws the mask), are hidden:
NaN in both kinds of column. Each imputer is fitted on the masked table and
transforms that same table (transductive, as in bench_imputation.py).

Methods (every one sees the same mask):

* ``vae``: ``VAEImputer(random_state=seed)`` at its defaults on the DataFrame
  itself (categorical columns one-hot inside, one model for both kinds);
* ``simple``: ``SimpleImputer(strategy='most_frequent')`` on the categorical
  columns, ``SimpleImputer(strategy='mean')`` on the numeric ones;
* ``knn``: ``KNNImputer()`` (5 neighbours) on the numeric columns beside the
  categorical ones one-hot (a missing category: its whole group NaN), each
  category then the largest of its group's imputed values;
* ``iterative``: ``IterativeImputer(random_state=seed)`` (BayesianRidge, 10
  rounds) on the same one-hot matrix, categories read the same way.

Metrics: accuracy of the hidden categorical entries (all columns together,
and per column), MSE of the hidden numeric entries on the standardized scale,
CPU seconds of fit + transform (one thread). Writes
``results/imputation_categorical.json``.

Usage::

    python benchmarks/bench_imputation_categorical.py [--seed 0] [--methods vae knn]
    python benchmarks/bench_imputation_categorical.py --rows 3000   # a quick run
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_conditional import DEFAULT_DATA, load_adult  # noqa: E402

METHODS = ("vae", "simple", "knn", "iterative")


def mask_table(df, rate, seed):
    """``df`` with exactly floor(rate * n * p) entries hidden (NaN), and the mask."""
    rng = np.random.RandomState(seed)
    n, p = df.shape
    flat = rng.choice(n * p, size=int(rate * n * p), replace=False)
    mask = np.zeros(n * p, dtype=bool)
    mask[flat] = True
    mask = mask.reshape(n, p)
    out = df.copy()
    for j, column in enumerate(df.columns):
        out.loc[mask[:, j], column] = np.nan
    return out, mask


def one_hot(df, categorical):
    """Numeric columns, then each categorical column one-hot (NaN group if missing)."""
    parts = [df.drop(columns=categorical).to_numpy(dtype=float)]
    groups, start = {}, parts[0].shape[1]
    for column in categorical:
        values = df[column]
        cats = list(values.cat.categories)
        block = np.zeros((len(df), len(cats)))
        codes = values.cat.codes.to_numpy()
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        block[~known] = np.nan
        parts.append(block)
        groups[column] = (start, cats)
        start += len(cats)
    return np.hstack(parts), groups


def from_one_hot(X, df, categorical, groups):
    """The table of an imputed one-hot matrix: each category its group's argmax."""
    numeric = [c for c in df.columns if c not in categorical]
    out = pd.DataFrame(X[:, : len(numeric)], columns=numeric, index=df.index)
    for column in categorical:
        start, cats = groups[column]
        block = X[:, start : start + len(cats)]
        out[column] = np.asarray(cats, dtype=object)[np.argmax(block, axis=1)]
    return out[list(df.columns)]


def impute(method, X_miss, categorical, seed):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

    from skvae import VAEImputer

    numeric = [c for c in X_miss.columns if c not in categorical]
    if method == "vae":
        imputer = VAEImputer(random_state=seed)
        out = imputer.fit_transform(X_miss)
        return out, {"epochs": int(imputer.n_iter_)}
    if method == "simple":
        out = X_miss.copy()
        out[numeric] = SimpleImputer(strategy="mean").fit_transform(X_miss[numeric])
        cats = X_miss[categorical].astype(object)
        filled = SimpleImputer(strategy="most_frequent").fit_transform(
            cats.where(X_miss[categorical].notna(), np.nan)
        )
        for k, column in enumerate(categorical):
            out[column] = filled[:, k]
        return out, {}
    X, groups = one_hot(X_miss, categorical)
    if method == "knn":
        X_out = KNNImputer().fit_transform(X)
    elif method == "iterative":
        X_out = IterativeImputer(random_state=seed).fit_transform(X)
    else:
        raise ValueError(method)
    return from_one_hot(X_out, X_miss, categorical, groups), {}


def score(df, out, mask, categorical):
    """Accuracy on hidden categories, MSE on hidden (standardized) numbers."""
    correct = total = 0
    per_column, squared, count = {}, 0.0, 0
    for j, column in enumerate(df.columns):
        hidden = mask[:, j]
        if not hidden.any():
            continue
        truth = df[column].to_numpy()[hidden]
        guess = out[column].to_numpy()[hidden]
        if column in categorical:
            hits = np.array([str(a) == str(b) for a, b in zip(truth, guess)])
            per_column[column] = round(float(hits.mean()), 4)
            correct += int(hits.sum())
            total += len(hits)
        else:
            err = (guess.astype(float) - truth.astype(float)) ** 2
            per_column[column] = round(float(err.mean()), 4)
            squared += float(err.sum())
            count += len(err)
    return {
        "categorical_accuracy": round(correct / total, 4),
        "numeric_mse": round(squared / count, 4),
        "per_column": per_column,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--rows", type=int, default=None, help="a random subset")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS)
    parser.add_argument(
        "--out", default=str(HERE / "results" / "imputation_categorical.json")
    )
    args = parser.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    df, categorical = load_adult(args.data)
    if args.rows:
        df = df.sample(args.rows, random_state=0).reset_index(drop=True)
    numeric = [c for c in df.columns if c not in categorical]
    df[numeric] = (df[numeric] - df[numeric].mean()) / df[numeric].std(ddof=0)
    X_miss, mask = mask_table(df, args.rate, args.seed)
    print(f"{df.shape}, {mask.sum()} entries hidden", flush=True)
    path = Path(args.out)
    stored = json.loads(path.read_text()) if path.exists() else {"runs": []}
    label = f"adult{args.rows or ''}:mcar{int(100 * args.rate)}:seed{args.seed}"
    run = next((r for r in stored["runs"] if r["label"] == label), None)
    if run is None:
        run = {
            "label": label,
            "rows": len(df),
            "hidden": int(mask.sum()),
            "results": {},
        }
        stored["runs"].append(run)
    run["versions"] = {"torch": torch.__version__, "pandas": pd.__version__}
    for method in args.methods:
        cpu, wall = time.process_time(), time.perf_counter()
        with threadpool_limits(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out, extra = impute(method, X_miss, categorical, args.seed)
        result = {
            **score(df, out, mask, categorical),
            "cpu_s": round(time.process_time() - cpu, 1),
            "wall_s": round(time.perf_counter() - wall, 1),
            **extra,
        }
        run["results"][method] = result
        print(
            method, {k: v for k, v in result.items() if k != "per_column"}, flush=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"benchmark": "imputation_categorical", "runs": stored["runs"]},
                indent=1,
            )
            + "\n"
        )
    print("wrote", path)


if __name__ == "__main__":
    main()

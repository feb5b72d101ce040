"""Synthetic rows from mixed-type tables (issue 11): skvae against ctgan's TVAE.

Usage (from the repository root; needs the ``benchmarks`` extra: ctgan,
sdmetrics, vega_datasets, pandas < 3)::

    python benchmarks/bench_synthetic.py                  # both sections
    python benchmarks/bench_synthetic.py --only quality   # or elbo
    python benchmarks/bench_synthetic.py --quick          # smoke run

Tables (both ship inside the ``vega_datasets`` wheel; nothing is downloaded):

* ``cars``: 406 rows. ``Name`` dropped (an identifier), ``Year`` (always
  January 1st) as the integer year; ``Cylinders`` (3, 4, 5, 6, 8) and
  ``Origin`` categorical; 5 real-valued columns, two of them with missing
  values (8 ``Miles_per_Gallon``, 6 ``Horsepower``), **kept**: skvae takes
  NaN as missing. TSTR target: ``Origin``.
* ``seattle_weather``: 1,461 days, ``date`` as ``month``, 4 real-valued
  columns and ``weather`` (sun, fog, rain, drizzle, snow). TSTR target:
  ``weather``.
* ``adult`` (issue 23): UCI census income, 32,561 x 15, ctgan's
  ``adult.csv`` (``--adult-csv``, default ``/work/shared/data/adult``; read
  with ``skipinitialspace=True``, ``?`` kept as a category as ctgan's example
  does); 9 categorical columns, 6 integer ones. TSTR target: ``income``.
  Tables of at least ``LARGE_ROWS`` rows run only ``LARGE_METHODS`` (skvae at
  its defaults and with ``n_components=2``, TVAE, independent columns).

TSTR also reports the ROC AUC of the classifier's probabilities (of
``>50K`` on adult; one-vs-rest, macro-averaged, on the others). A run
replaces the stored run of its ``--label`` (default ``default``); the report
takes each method from the latest run that measured it, so TVAE (minutes on
adult) and skvae can run apart::

    python benchmarks/bench_synthetic.py --only quality --methods tvae independent
    python benchmarks/bench_synthetic.py --only quality --label skvae \
        --methods skvae skvae_modes skvae_budget skvae_defaults skvae_k2

``quality`` (results/synthetic_quality.json): per seed, a stratified 75/25
split; each generator fits the training rows and draws as many rows. SDMetrics'
``QualityReport`` against the training rows (Column Shapes, Column Pair Trends,
their mean); train-on-synthetic / test-on-real accuracy of a
``HistGradientBoostingClassifier`` for the target, averaged over
``--tstr-draws`` synthetic draws of n_train rows; fit time in CPU seconds of
this process (1 thread) and wall seconds; the distance of each synthetic row
to its nearest training row (privacy), against the same for the real test
rows. References: the real test rows in place of synthetic rows (their
accuracy is train-on-real), and each column resampled independently from the
training rows. ctgan 0.12's TVAE fits a table with NaN but fails when it
samples (``ValueError: Shape of passed values is (n, 2), indices imply (n,
3)``): it fits the training rows without NaN.

``elbo`` (results/synthetic_elbo.json): held-out ELBO in 5-fold CV
(``KFold(5, shuffle=True, random_state=0)``) x model seeds, per block of
columns, for the mixed likelihood (categorical columns native; counts
Poisson or negative binomial) and an all-Gaussian model of the one-hot table.
A Gaussian gives a one-hot or integer column a density, not a probability, so
for the comparable total each Gaussian over a discrete column is scored as the
probability of the column's cell (width 1, or 0.1 mm for precipitation):
``Phi((x + w/2 - mu) / sigma) - Phi((x - w/2 - mu) / sigma)``, a discretized
Gaussian. Every model is then an ELBO of the same data in the same measure:
densities for the real-valued columns, probabilities for the discrete ones.
"""

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Measurement,
    add_common_args,
    apply_quick,
    log,
    out_dir_of,
    write_reports,
)

SECTIONS = ("quality", "elbo")
SEEDS = (0, 1, 2)

#: skvae's settings in the ELBO section (see RESULTS_synthetic.md):
#: a larger step than the default 1e-3, and a stopping rule that waits for
#: about ``PATIENCE_STEPS`` minibatches without improvement (10 epochs, the
#: default, are only 30 minibatches on 300 rows), at least 10 epochs.
SKVAE_TABLE_PARAMS = {"learning_rate": 5e-3}
PATIENCE_STEPS = 100
BATCH_SIZE = 128  # VAETransformer's default
#: skvae's settings for quick synthetic tables (the quality section's
#: ``skvae`` row, as the docs' tables guide advises): a step ten times the
#: default's, and early stopping without the refit of ``'auto'``.
SKVAE_SYNTHETIC_PARAMS = {"learning_rate": 1e-2, "early_stopping": True}
#: skvae with a fixed budget, as TVAE trains (300 epochs, no held-out rows):
#: the quick recipe's step, 150 epochs at most, no early stopping (the
#: training loss's plateau rule may still end it sooner).
SKVAE_BUDGET_PARAMS = {"learning_rate": 1e-2, "early_stopping": False, "max_iter": 150}


def table_params(n_rows):
    """SKVAE_TABLE_PARAMS and n_iter_no_change for a table of ``n_rows`` rows."""
    batches = math.ceil(n_rows / BATCH_SIZE)
    patience = max(10, math.ceil(PATIENCE_STEPS / batches))
    return {**SKVAE_TABLE_PARAMS, "n_iter_no_change": patience}


# ------------------------------------------------------------------ tables


def load_table(name):
    """``(DataFrame, categorical columns, TSTR target, description)``."""
    from vega_datasets import local_data

    if name == "cars":
        df = local_data.cars().drop(columns=["Name"])
        df["Year"] = df["Year"].dt.year.astype("int64")
        for column in ("Cylinders", "Origin"):
            df[column] = df[column].astype("category")
        n_nan = int(df.isna().any(axis=1).sum())
        text = (
            f"vega_datasets cars: {len(df)} x {df.shape[1]} (Name dropped; Year as "
            f"integer; Cylinders and Origin categorical); {n_nan} rows with a "
            "missing value, kept"
        )
        return df, ["Cylinders", "Origin"], "Origin", text
    if name == "seattle_weather":
        df = local_data.seattle_weather()
        df.insert(0, "month", df.pop("date").dt.month.astype("int64"))
        df["weather"] = df["weather"].astype("category")
        text = (
            f"vega_datasets seattle_weather: {len(df)} x {df.shape[1]} (date as "
            "month; weather categorical); no missing values"
        )
        return df, ["weather"], "weather", text
    if name == "adult":
        import pandas as pd

        df = pd.read_csv(ADULT_CSV, skipinitialspace=True)
        categorical = [c for c in df.columns if df[c].dtype == object]
        for column in categorical:
            df[column] = df[column].astype("category")
        text = (
            f"UCI adult (census income, 1994; ctgan's adult.csv): {len(df)} x "
            f"{df.shape[1]}, {len(categorical)} categorical columns (up to "
            f"{max(len(df[c].cat.categories) for c in categorical)} levels; '?' "
            "kept as a category, as ctgan's example does), 6 integer columns "
            "(capital-gain and capital-loss 0 in "
            f"{100 * (df['capital-gain'] == 0).mean():.0f} % and "
            f"{100 * (df['capital-loss'] == 0).mean():.0f} % of rows, with a "
            "long tail)"
        )
        return df, categorical, "income", text
    raise ValueError(name)


TABLES = ("cars", "seattle_weather", "adult")
#: Where the adult table lives (``--adult-csv`` overrides; not in a wheel).
ADULT_CSV = Path(os.environ.get("SKVAE_ADULT_CSV", "/work/shared/data/adult/adult.csv"))
#: Tables with at least this many rows run only these methods (the others
#: are diagnostics that the small tables already answer; TVAE costs minutes).
LARGE_ROWS = 10_000
LARGE_METHODS = ("skvae_defaults", "skvae_k2", "tvae", "independent")


def restore_dtypes(df, dtypes):
    """Generated columns in the training dtypes (categories as categories)."""
    import pandas as pd

    out = df[list(dtypes.index)].copy()
    for column, dtype in dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype):
            out[column] = pd.Categorical(out[column], categories=dtype.categories)
        elif pd.api.types.is_integer_dtype(dtype):
            out[column] = np.round(pd.to_numeric(out[column])).astype(dtype)
        else:
            out[column] = pd.to_numeric(out[column]).astype(dtype)
    return out


# ---------------------------------------------------------------- methods


class Skvae:
    """VAETransformer on the raw table; rows from ``sample(decoder_noise=True)``."""

    def __init__(self, seed, params, modes=False):
        self.seed, self.params = seed, params
        self.modes = modes

    def fit(self, df, categorical):
        from skvae import VAETransformer

        self.dtypes_ = df.dtypes
        self.model = VAETransformer(random_state=self.seed, **self.params)
        self.model.set_output(transform="pandas")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
            self.model.fit(df)
        self.n_fit_rows_ = len(df)
        # The settings this fit resolved ('auto' defaults depend on the rows).
        plan = self.model._plan(len(df), "fit")
        self.info_ = {
            "epochs": int(self.model.n_iter_),
            "max_iter": int(plan.epochs),
            "n_iter_no_change": int(plan.n_iter_no_change),
        }
        return self

    def sample(self, n, draw=0):
        state = 1000 * self.seed + draw
        rows = self.model.sample(n, random_state=state, decoder_noise=True)
        if self.modes:
            # The same codes z (sample draws them first from random_state);
            # inverse_transform gives each categorical column's most probable
            # category given z, as TVAE's sampler takes the argmax.
            codes = np.random.RandomState(state).standard_normal(
                (n, self.model.n_components)
            )
            means = self.model.inverse_transform(codes)
            check = self.model.sample(n, random_state=state)
            assert means.equals(check), "sample draws z otherwise"
            for column, dtype in self.dtypes_.items():
                if str(dtype) == "category":
                    rows[column] = means[column]
        return restore_dtypes(rows, self.dtypes_)


class TVAE:
    """ctgan.TVAE at its defaults, on the training rows without NaN."""

    def __init__(self, seed, epochs=None):
        self.seed, self.epochs = seed, epochs

    def fit(self, df, categorical):
        from ctgan import TVAE as CtganTVAE
        from joblib import parallel_config

        self.dtypes_ = df.dtypes
        complete = df.dropna().reset_index(drop=True)
        for column in categorical:  # ctgan wants plain object columns
            complete[column] = complete[column].astype(object)
        self.model = CtganTVAE() if self.epochs is None else CtganTVAE(self.epochs)
        self.model.set_random_state(self.seed)
        # ctgan's DataTransformer runs Parallel(n_jobs=-1) (loky processes) on
        # tables of >= 500 rows: keep it in this process, so CPU time counts it.
        with parallel_config(backend="sequential"):
            self.model.fit(complete, discrete_columns=list(categorical))
        self.n_fit_rows_ = len(complete)
        self.info_ = {"epochs": int(self.model.epochs)}
        return self

    def sample(self, n, draw=0):
        from joblib import parallel_config

        # set_random_state seeded fit; each call continues ctgan's generators
        with parallel_config(backend="sequential"):
            return restore_dtypes(self.model.sample(n), self.dtypes_)


class Independent:
    """Each column resampled (with replacement) from the training rows on its own."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, df, categorical):
        self.df_ = df.reset_index(drop=True)
        self.n_fit_rows_ = len(df)
        self.info_ = {}
        return self

    def sample(self, n, draw=0):
        import pandas as pd

        rng = np.random.default_rng([self.seed, draw])
        return pd.DataFrame(
            {
                c: self.df_[c].to_numpy()[rng.integers(0, len(self.df_), n)]
                for c in self.df_.columns
            }
        ).astype(self.df_.dtypes.to_dict())


def synthetic_params(quick):
    return {**SKVAE_SYNTHETIC_PARAMS, **({"max_iter": 5} if quick else {})}


def skvae_params_text(params):
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"


METHODS = {
    "skvae": (
        lambda seed, quick: Skvae(seed, synthetic_params(quick)),
        "skvae.VAETransformer("
        + skvae_params_text(SKVAE_SYNTHETIC_PARAMS)
        + ", random_state=seed), the other parameters at their defaults "
        "(hidden_layer_sizes, max_iter and n_iter_no_change 'auto'), "
        "on the raw table (categorical columns native, the others Gaussian, "
        "NaN as missing); rows from sample(n, decoder_noise=True)",
    ),
    "skvae_modes": (
        lambda seed, quick: Skvae(seed, synthetic_params(quick), modes=True),
        "diagnostic: the skvae model, with each categorical column set to its "
        "most probable category given z (as TVAE's sampler takes the argmax of "
        "a discrete column), the other columns drawn as skvae's: not the "
        "model's distribution",
    ),
    "skvae_budget": (
        lambda seed, quick: Skvae(
            seed, {**SKVAE_BUDGET_PARAMS, **({"max_iter": 5} if quick else {})}
        ),
        "skvae.VAETransformer("
        + skvae_params_text(SKVAE_BUDGET_PARAMS)
        + ", random_state=seed): a fixed budget, as TVAE trains, on every "
        "training row (no held-out rows, no refit); otherwise as skvae",
    ),
    "skvae_defaults": (
        lambda seed, quick: Skvae(seed, {"max_iter": 5} if quick else {}),
        "skvae.VAETransformer(random_state=seed) at its defaults "
        "(n_components=8; hidden_layer_sizes, max_iter, early_stopping and "
        "n_iter_no_change 'auto'), otherwise as skvae",
    ),
    "skvae_k2": (
        lambda seed, quick: Skvae(
            seed, {"n_components": 2, **({"max_iter": 5} if quick else {})}
        ),
        "skvae.VAETransformer(n_components=2, random_state=seed): the defaults "
        "with 2 latent dimensions instead of 8 (the default before 0.3; "
        "diagnostic: what a 2-dimensional code costs), otherwise as skvae",
    ),
    "tvae": (
        lambda seed, quick: TVAE(seed, epochs=5 if quick else None),
        "ctgan.TVAE() at its defaults (epochs=300, batch_size=500, embedding "
        "128, (128, 128) networks, loss_factor=2, l2scale=1e-5), "
        "discrete_columns = the categorical columns, fitted on the training "
        "rows without a missing value",
    ),
    "independent": (
        lambda seed, quick: Independent(seed),
        "sanity baseline: each column resampled independently from the "
        "training rows (exact marginals, no dependence between columns)",
    ),
}


# ---------------------------------------------------------------- metrics


def quality(real, synthetic, categorical):
    """SDMetrics QualityReport of ``synthetic`` against ``real``."""
    from sdmetrics.reports import QualityReport

    metadata = {
        "tables": {
            "t": {
                "columns": {
                    c: {"sdtype": "categorical" if c in categorical else "numerical"}
                    for c in real.columns
                }
            }
        }
    }
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate({"t": real}, {"t": synthetic}, metadata, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    details = report.get_details("Column Shapes", table_name="t")
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
        "shapes_by_column": {
            row["Column"]: float(row["Score"]) for _, row in details.iterrows()
        },
    }


def tstr(train, test, target, seed):
    """Accuracy, balanced accuracy and ROC AUC on the real test rows.

    ROC AUC: of the second category for a binary target (adult's ``>50K``),
    else one-vs-rest, macro-averaged; a class the synthetic rows lack gets
    probability 0.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

    y = train[target].astype(str)
    if y.nunique() < 2:
        return float("nan"), float("nan"), float("nan")
    clf = HistGradientBoostingClassifier(
        categorical_features="from_dtype", random_state=seed
    )
    clf.fit(train.drop(columns=[target]), y)
    X_test = test.drop(columns=[target])
    pred = clf.predict(X_test)
    truth = test[target].astype(str)
    labels = [str(c) for c in test[target].cat.categories if (truth == str(c)).any()]
    proba = np.zeros((len(test), len(labels)))
    known = clf.predict_proba(X_test)
    for j, label in enumerate(clf.classes_):
        if label in labels:
            proba[:, labels.index(label)] = known[:, j]
    if len(labels) == 2:
        auc = roc_auc_score(truth == labels[1], proba[:, 1])
    else:
        proba /= np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)
        auc = roc_auc_score(truth, proba, multi_class="ovr", labels=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # classes absent from the predictions
        return (
            float(accuracy_score(truth, pred)),
            float(balanced_accuracy_score(truth, pred)),
            float(auc),
        )


class RowSpace:
    """Rows as vectors for nearest-neighbour distances: real-valued columns
    standardized by the training rows (a missing value at the training mean),
    a categorical column one-hot / sqrt(2), so that a different category adds
    1 to the squared distance, as one standard deviation does."""

    def __init__(self, train, categorical):
        self.categorical = categorical
        self.numeric = [c for c in train.columns if c not in categorical]
        self.mean = train[self.numeric].mean()
        self.std = train[self.numeric].std().replace(0, 1)
        self.categories = {c: list(train[c].cat.categories) for c in categorical}

    def __call__(self, df):
        parts = [((df[self.numeric] - self.mean) / self.std).fillna(0).to_numpy()]
        for c, cats in self.categories.items():
            codes = np.asarray(df[c].cat.set_categories(cats).cat.codes)
            onehot = np.zeros((len(df), len(cats)))
            onehot[np.flatnonzero(codes >= 0), codes[codes >= 0]] = 1 / math.sqrt(2)
            parts.append(onehot)
        return np.hstack(parts)


def distances_to_training(space, train, rows, *, same=False):
    """Distance of each row to its nearest training row (another one if same)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=2 if same else 1).fit(space(train))
    distance, _ = nn.kneighbors(space(rows))
    return distance[:, 1 if same else 0]


def privacy(space, train, test, synthetic, reference=None):
    """Nearest-training-row distances: synthetic rows against real test rows.

    ``reference``: the test and training rows' distances ``(d_test,
    d_train)``, computed once per split (they do not depend on the method).
    """
    d_syn = distances_to_training(space, train, synthetic)
    if reference is None:
        reference = (
            distances_to_training(space, train, test),
            distances_to_training(space, train, train, same=True),
        )
    d_test, d_train = reference
    p5 = float(np.percentile(d_test, 5))
    return {
        "dcr_median": float(np.median(d_syn)),
        "dcr_test_median": float(np.median(d_test)),
        "dcr_train_median": float(np.median(d_train)),
        "test_p5": p5,
        "share_closer_than_test_p5": float(np.mean(d_syn < p5)),
        "exact_copies": int(np.sum(d_syn < 1e-9)),
    }


# ---------------------------------------------------------------- quality


def run_quality(args):
    # Import every package before timing, so no fit pays for an import: the
    # first torch optimizer imports torch._dynamo (~4 CPU s).
    import ctgan  # noqa: F401
    import sdmetrics.reports  # noqa: F401
    from sklearn.model_selection import train_test_split

    import skvae  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)]).step()

    records, tables = [], {}
    for name in args.tables:
        df, categorical, target, text = load_table(name)
        if args.quick:
            df = df.sample(200, random_state=0).reset_index(drop=True)
        tables[name] = {"description": text, "target": target, "n_rows": len(df)}
        for seed in args.seeds:
            train, test = train_test_split(
                df, test_size=0.25, random_state=seed, stratify=df[target]
            )
            train = train.reset_index(drop=True)
            test = test.reset_index(drop=True)
            space = RowSpace(train, categorical)
            reference = (
                distances_to_training(space, train, test),
                distances_to_training(space, train, train, same=True),
            )
            ref = {"table": name, "seed": seed, "method": "real_holdout"}
            ref.update(quality(train, test, categorical))
            ref["accuracy"], ref["balanced_accuracy"], ref["roc_auc"] = tstr(
                train, test, target, seed
            )
            ref.update(privacy(space, train, test, test, reference))
            ref.update(n_train=len(train), n_test=len(test))
            records.append(ref)
            log(
                f"{name} seed {seed} real_holdout: quality {ref['quality']:.3f} "
                f"TRTR {ref['accuracy']:.3f}"
            )
            for method in args.methods:
                if len(df) >= LARGE_ROWS and method not in LARGE_METHODS:
                    continue
                make, _ = METHODS[method]
                gen = make(seed, args.quick)
                c0, t0 = time.process_time(), time.perf_counter()
                gen.fit(train, categorical)
                c1, t1 = time.process_time(), time.perf_counter()
                draws = [gen.sample(len(train), d) for d in range(args.tstr_draws)]
                c2 = time.process_time()
                rec = {"table": name, "seed": seed, "method": method}
                rec.update(quality(train, draws[0], categorical))
                scores = [tstr(d, test, target, seed) for d in draws]
                rec["accuracy_draws"] = [s[0] for s in scores]
                rec["accuracy"] = float(np.mean(rec["accuracy_draws"]))
                rec["balanced_accuracy"] = float(np.mean([s[1] for s in scores]))
                rec["roc_auc"] = float(np.mean([s[2] for s in scores]))
                rec.update(privacy(space, train, test, draws[0], reference))
                rec.update(
                    fit_cpu_s=c1 - c0,
                    fit_wall_s=t1 - t0,
                    sample_cpu_s=(c2 - c1) / len(draws),
                    n_train=len(train),
                    n_fit_rows=gen.n_fit_rows_,
                    synthetic_nan=int(draws[0].isna().sum().sum()),
                    **gen.info_,
                )
                records.append(rec)
                log(
                    f"{name} seed {seed} {method}: quality {rec['quality']:.3f} "
                    f"(shapes {rec['column_shapes']:.3f}, pairs "
                    f"{rec['column_pair_trends']:.3f}) TSTR {rec['accuracy']:.3f} "
                    f"AUC {rec['roc_auc']:.3f} copies<p5 "
                    f"{rec['share_closer_than_test_p5']:.3f} "
                    f"fit {rec['fit_cpu_s']:.1f} CPU s ({rec['fit_wall_s']:.1f} s)"
                )
    return records, tables


# ------------------------------------------------------------------- elbo


def _cars_models():
    """name -> (prepare(df) -> df, VAETransformer likelihood, description)."""
    import pandas as pd

    def onehot(df):
        out = df.copy()
        out["Cylinders"] = out["Cylinders"].astype("int64")
        dummies = pd.get_dummies(out["Origin"], prefix="Origin", dtype=float)
        return pd.concat([out.drop(columns=["Origin"]), dummies], axis=1)

    def as_count(df):
        out = df.copy()
        out["Cylinders"] = out["Cylinders"].astype("int64")
        return out

    def all_gaussian(X):
        return [("gaussian", [c]) for c in X.columns]

    return {
        "gaussian_onehot": (
            onehot,
            all_gaussian,
            "every column Gaussian (one block each): Origin one-hot (3 columns), "
            "Cylinders a number",
        ),
        "mixed": (
            lambda df: df,
            lambda X: "gaussian",
            "the raw table: Origin and Cylinders categorical, the rest Gaussian",
        ),
        "mixed_poisson": (
            as_count,
            lambda X: [("poisson", ["Cylinders"])],
            "Origin categorical, Cylinders Poisson, the rest Gaussian",
        ),
        "mixed_nb": (
            as_count,
            lambda X: [("negative_binomial", ["Cylinders"])],
            "Origin categorical, Cylinders negative binomial, the rest Gaussian",
        ),
    }


def _seattle_models():
    import pandas as pd

    def onehot(df):
        dummies = pd.get_dummies(df["weather"], prefix="weather", dtype=float)
        return pd.concat([df.drop(columns=["weather"]), dummies], axis=1)

    def tenths(df):
        out = df.copy()
        out["precipitation"] = np.rint(out["precipitation"] * 10).astype("int64")
        return out

    return {
        "gaussian_onehot": (
            onehot,
            lambda X: [("gaussian", [c]) for c in X.columns],
            "every column Gaussian (one block each): weather one-hot (5 columns)",
        ),
        "mixed": (
            lambda df: df,
            # named column by column: likelihood='gaussian' would model
            # precipitation's dry days as a hurdle (TableEncoder.spikes)
            lambda X: [("gaussian", [c for c in X.columns if c != "weather"])],
            "the raw table: weather categorical, the rest Gaussian",
        ),
        "mixed_nb": (
            tenths,
            lambda X: [("negative_binomial", ["precipitation"])],
            "weather categorical, precipitation negative binomial (a count of "
            "0.1 mm), the rest Gaussian",
        ),
    }


#: The discrete columns of each table and the width of their cells (the
#: values' spacing, in the column's units in the raw table).
DISCRETE = {
    "cars": {"Origin": 1.0, "Cylinders": 1.0},
    "seattle_weather": {"weather": 1.0, "precipitation": 0.1},
}


def _log_interval_prob(a, b):
    """log(Phi(b) - Phi(a)) for a < b, stable in both tails (float64)."""
    flip = a > 0
    lo, hi = torch.where(flip, -b, a), torch.where(flip, -a, b)
    log_hi, log_lo = torch.special.log_ndtr(hi), torch.special.log_ndtr(lo)
    gap = (log_lo - log_hi).clamp(max=-1e-15)
    return log_hi + torch.log(-torch.expm1(gap))


def block_terms(vae, X, table, n_draws=16, seed=0):
    """Mean over X's rows of E_q[log p(x_block | z)] per group of columns, and the KL.

    Groups: each discrete column of ``DISCRETE[table]`` (its one-hot group, or
    its own column), and ``numeric`` for the real-valued columns. Returns
    ``(raw, comparable, kl)``: ``raw`` as the model scores them (a Gaussian's
    density on a discrete column); ``comparable`` with each Gaussian over a
    discrete column scored as the probability of the value's cell. Uses the
    fitted model's internals (the model matrix, its offset, the module).
    """
    from skvae.likelihoods import Gaussian

    widths = DISCRETE[table]
    names = vae._model_feature_names
    X_model = vae._validate_input(X, reset=False).astype(np.float64)
    if vae._x_offset is not None:
        X_model = X_model - vae._x_offset
    x = torch.as_tensor(X_model)
    observed = ~torch.isnan(x)
    x_filled = torch.nan_to_num(x)
    module = vae._inference_module(np.dtype(np.float64))
    likelihood = module.likelihood
    blocks = likelihood.column_blocks(x.shape[1])

    def group_of(column):
        for raw in widths:
            if names[column] == raw or names[column].startswith(raw + "_"):
                return raw
        return "numeric"

    raw = dict.fromkeys([*widths, "numeric"], 0.0)
    comparable = dict(raw)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z_loc, z_logvar = module.encode(x)
        kl = -0.5 * (1 + z_logvar - z_loc.pow(2) - z_logvar.exp()).sum(-1)
        for _ in range(n_draws):
            eps = torch.randn(z_loc.shape, generator=generator, dtype=torch.float64)
            out = module.decode(z_loc + torch.exp(0.5 * z_logvar) * eps)
            for block in blocks:
                cols = list(block.columns)
                lik = block.likelihood
                obs = observed[:, cols]
                if not isinstance(lik, Gaussian):
                    # one group per block (a categorical column's one-hot
                    # group, or a count column of its own)
                    log_p = lik.log_prob(x_filled[:, cols], out[:, block.outputs], obs)
                    group = group_of(cols[0])
                    raw[group] += float(log_p.mean()) / n_draws
                    comparable[group] += float(log_p.mean()) / n_draws
                    continue
                # A Gaussian block may hold several columns (the likelihood
                # "gaussian" puts every non-categorical column in one block),
                # discrete or not: split it column by column, so that a
                # discrete column in it is scored as its cell's probability.
                loc = out[:, block.outputs]  # one output per column
                sigma = torch.exp(0.5 * lik.x_logvar())
                density = lik.feature_log_prob(x_filled[:, cols], loc) * obs
                for j, col in enumerate(cols):
                    group = group_of(col)
                    log_p = density[:, j]
                    raw[group] += float(log_p.mean()) / n_draws
                    if group != "numeric":
                        width = widths[group]
                        value = x_filled[:, col]
                        cell = _log_interval_prob(
                            (value - width / 2 - loc[:, j]) / sigma[j],
                            (value + width / 2 - loc[:, j]) / sigma[j],
                        )
                        log_p = torch.where(obs[:, j], cell, 0.0)
                    comparable[group] += float(log_p.mean()) / n_draws
    return raw, comparable, float(kl.mean())


def run_elbo(args):
    from sklearn.model_selection import KFold

    records = {}
    descriptions = {}
    for name in [t for t in args.tables if t in DISCRETE]:  # not adult
        df, _, _, _ = load_table(name)
        if args.quick:
            df = df.sample(200, random_state=0).reset_index(drop=True)
        models = _cars_models() if name == "cars" else _seattle_models()
        folds = list(KFold(5, shuffle=True, random_state=0).split(df))
        if args.quick:
            folds = folds[:2]
        for model, (prepare, likelihood, text) in models.items():
            descriptions[f"{name}/{model}"] = text
            data = prepare(df)
            for seed in args.seeds:
                for f, (train_idx, test_idx) in enumerate(folds):
                    train, test = data.iloc[train_idx], data.iloc[test_idx]
                    params = table_params(len(train))
                    if args.quick:
                        params["max_iter"] = 5
                    from skvae import VAETransformer

                    vae = VAETransformer(
                        likelihood=likelihood(train), random_state=seed, **params
                    )
                    c0 = time.process_time()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        vae.fit(train)
                    fit_cpu = time.process_time() - c0
                    raw, comparable, kl = block_terms(vae, test, name, seed=seed)
                    score = float(vae.score(test))
                    records[f"{name}/{model}/{seed}/{f}"] = {
                        "n_iter_no_change": params["n_iter_no_change"],
                        "raw": raw,
                        "comparable": comparable,
                        "kl": kl,
                        "score": score,
                        "epochs": int(vae.n_iter_),
                        "fit_cpu_s": fit_cpu,
                        "blocks": [
                            [n, [vae._model_feature_names[c] for c in cols]]
                            for n, cols in vae._likelihood_blocks
                        ],
                    }
                    total = sum(comparable.values()) - kl
                    log(
                        f"{name} {model} seed {seed} fold {f}: score {score:.2f}, "
                        f"comparable ELBO {total:.2f} ({fit_cpu:.1f} CPU s)"
                    )
    return records, descriptions


# -------------------------------------------------------------------- main


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("ctgan", "rdt", "sdmetrics", "pandas", "vega_datasets"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    parser.add_argument(
        "--adult-csv",
        type=Path,
        default=ADULT_CSV,
        help="the adult table (ctgan's adult.csv; /work/shared/data/adult)",
    )
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHODS), default=list(METHODS)
    )
    parser.add_argument(
        "--tstr-draws",
        type=int,
        default=5,
        help="synthetic draws whose TSTR accuracy is averaged (quality: first)",
    )
    add_common_args(parser, label=True)
    args = apply_quick(parser.parse_args(argv), parser, {"seeds": [0], "tstr_draws": 2})
    torch.set_num_threads(1)
    globals()["ADULT_CSV"] = args.adult_csv  # load_table reads it
    sections = args.only or SECTIONS
    out = out_dir_of(args)
    config = {
        "seeds": args.seeds,
        "tables": args.tables,
        "skvae_params": SKVAE_TABLE_PARAMS,
        "patience_steps": PATIENCE_STEPS,
        "quick": args.quick,
        "versions": _versions(),
    }
    if "quality" in sections:
        cfg = {
            **config,
            "methods": {m: METHODS[m][1] for m in args.methods},
            "tstr_draws": args.tstr_draws,
            "split": "stratified 75/25 by the target, random_state=seed; "
            "n_synthetic = n_train",
        }
        # A run replaces the stored run of its label; the report takes each
        # method from the latest run that measured it (see --label).
        with Measurement(
            "synthetic_quality",
            out_dir=out,
            config=cfg,
            notes=args.note,
            label=args.label or "default",
        ) as m:
            m.results["records"], m.results["tables"] = run_quality(args)
    if "elbo" in sections:
        with Measurement(
            "synthetic_elbo", out_dir=out, config=dict(config), notes=args.note
        ) as m:
            m.results["cells"], m.results["models"] = run_elbo(args)
            m.results["discrete"] = DISCRETE
    write_reports(args)


if __name__ == "__main__":
    main()

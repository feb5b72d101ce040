"""
====================================================
Conditional rows: some columns fixed, the rest drawn
====================================================

"1,000 rows with income = >50K": the request that synthetic-data users make
most after plain sampling. :meth:`skvae.VAETransformer.sample` takes
``given={column: value}`` and draws the other columns from the model's
conditional distribution given those values. It does so by inference in the
model, not by drawing rows and rejecting those that do not match: codes z are
proposed, weighted by how well they explain the given values, p(x_given | z),
and resampled (sampling importance resampling, Rubin 1987; the scheme of
``VAEImputer(sample_posterior=True)``). The given columns come back exactly as
asked, and the cost does not grow as the condition gets rarer.

The table is the UCI adult census table when it is on disk (the file
``adult.csv`` that the ctgan repository distributes, found in
``$SKVAE_ADULT_CSV`` or ``../shared/data/adult/``); otherwise scikit-learn's
bundled wine table, made mixed by turning its class into a categorical
``cultivar`` column. ``benchmarks/bench_conditional.py`` measures the rows on
adult: SDMetrics quality 0.915 of 2,000 rows with income = >50K against the
real test rows with that income (2,000 rejection-sampled rows: 0.910; all
synthetic rows, unconditioned: 0.666).
"""

# %%
# The table, split 80/20; text columns as categories.
import os
from pathlib import Path

import numpy as np
import pandas as pd
from _figures import QUICK, plt, save, show
from sklearn.model_selection import train_test_split

from skvae import VAETransformer

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run where __file__ is not set
    HERE = Path.cwd()
candidates = [
    os.environ.get("SKVAE_ADULT_CSV", ""),
    HERE.parents[1] / "shared" / "data" / "adult" / "adult.csv",
]
adult = next((Path(p) for p in candidates if p and Path(p).is_file()), None)
if adult is not None:
    table = pd.read_csv(adult, skipinitialspace=True)
    for column in table.columns:  # the text columns (object or str dtype)
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].astype("category")
    given, more = {"income": ">50K"}, {"sex": "Female"}
    numeric, categorical = "age", "relationship"
    print(f"Data: adult ({adult.name})")
else:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True)
    table = wine.data[["alcohol", "malic_acid", "flavanoids", "color_intensity"]]
    table = table.assign(
        proline=wine.data["proline"].astype("int64"),
        cultivar=pd.Categorical.from_codes(wine.target, wine.target_names),
        strong=pd.Categorical(np.where(wine.data["alcohol"] > 13, "yes", "no")),
    )
    given, more = {"cultivar": "class_0"}, {"strong": "yes"}
    numeric, categorical = "flavanoids", "strong"
    print("Data: adult.csv is not on disk; scikit-learn's wine table instead")
if QUICK:
    table = table.sample(min(len(table), 400), random_state=0)
train, test = train_test_split(table, test_size=0.2, random_state=0)
print(f"{len(train)} training rows, {len(test)} test rows, {table.shape[1]} columns")

# %%
# Fit at the defaults, rows back as a DataFrame.
vae = VAETransformer(random_state=0, max_iter=3 if QUICK else "auto")
vae.set_output(transform="pandas")
vae.fit(train)
print(f"{vae.n_iter_} epochs")

# %%
# Rows with one column fixed. ``decoder_noise=True`` draws each column from
# p(x | z), as plain synthetic rows are drawn; the given column holds its value
# in every row.
((column, value),) = given.items()
n_rows = 200 if QUICK else 2000
rows = vae.sample(n_rows, random_state=0, decoder_noise=True, given=given)
assert (rows[column] == value).all()
print(rows.head())

# %%
# Two columns fixed: any subset of columns, categorical or numeric.
both = vae.sample(n_rows, random_state=0, decoder_noise=True, given={**given, **more})
print(both[list({**given, **more})].astype(str).value_counts())

# %%
# Do the conditioned rows look like the real rows with that value? Against
# the real test rows with it, and the unconditioned synthetic rows (all
# values mixed): a numeric column's histogram and a categorical column's
# shares.
real = test[test[column] == value]
plain = vae.sample(n_rows, random_state=0, decoder_noise=True)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
bins = np.histogram_bin_edges(table[numeric], bins=30)
for label, frame, style in (
    (f"real test rows, {column} = {value}", real, {"color": "k", "lw": 2}),
    (f"given {column} = {value}", rows, {"color": "C1"}),
    ("synthetic, no condition", plain, {"color": "C0", "ls": "--"}),
):
    left.hist(
        frame[numeric], bins=bins, density=True, histtype="step", label=label, **style
    )
left.set_xlabel(numeric)
left.set_ylabel("density")
left.legend(fontsize=8)
levels = list(table[categorical].cat.categories)
shares = (
    pd.DataFrame(
        {
            "real": real[categorical].value_counts(normalize=True),
            "given": rows[categorical].value_counts(normalize=True),
            "no condition": plain[categorical].value_counts(normalize=True),
        }
    )
    .reindex(levels)
    .fillna(0)
)
shares.plot.bar(ax=right, color=["k", "C1", "C0"], width=0.8)
right.set_ylabel("share of rows")
right.set_xlabel(categorical)
right.tick_params(axis="x", labelrotation=30, labelsize=8)
fig.suptitle(f"Rows drawn with {column} = {value}")
fig.tight_layout()
save(fig, "conditional_rows.png")
show()

# %%
# The weights tell when a condition is hard for the model: values it finds
# improbable, or many columns fixed, concentrate the importance weights on a
# few proposals, and ``sample`` then warns that the rows share few codes
# (``n_iw_samples`` raises the number of proposals, 20 per row by default and
# at least 10,000). A condition with a different value in each row is
# imputation: :class:`skvae.VAEImputer` with ``sample_posterior=True`` draws
# each row's missing entries given its observed ones.

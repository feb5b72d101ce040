"""
=================================================
Synthetic rows from a raw mixed-type table
=================================================

A table straight from pandas, with real-valued, integer and categorical
columns and a few missing values, goes into :class:`skvae.VAETransformer` as
it is: categorical columns are found by their dtype and one-hot encoded
inside, each with a categorical likelihood; the other columns get a Gaussian
each; NaN counts as missing. Out come a 2-D code per row and, with
``set_output(transform="pandas")``, synthetic rows as a DataFrame with the
training columns and dtypes, drawn from the generative model
(``sample(n, decoder_noise=True)``: z from the prior, then each column from
its likelihood).

The table is vega_datasets' ``cars`` (406 cars of 1970-1982) when the
``vega_datasets`` package is installed (it is in skvae's ``benchmarks``
extra, not a dependency); otherwise scikit-learn's bundled wine table, made
mixed by turning its class into a categorical ``cultivar`` column.
``benchmarks/RESULTS_synthetic.md`` measures these synthetic rows against
ctgan's TVAE.
"""

# %%
# The raw table.
import numpy as np
import pandas as pd
from _figures import QUICK, plt, save, show
from sklearn.neighbors import NearestNeighbors

from skvae import VAETransformer

try:
    from vega_datasets import local_data

    table = local_data.cars().drop(columns=["Name"])
    table["Year"] = table["Year"].dt.year  # an integer column
    table["Cylinders"] = table["Cylinders"].astype("category")
    table["Origin"] = table["Origin"].astype("category")
    colour_by, x_col, y_col = "Origin", "Weight_in_lbs", "Miles_per_Gallon"
    print("Data: vega_datasets cars (Name dropped)")
except ImportError:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True)
    table = wine.data[["alcohol", "malic_acid", "magnesium", "flavanoids"]].copy()
    table["magnesium"] = table["magnesium"].astype("int64")
    table["proline"] = wine.data["proline"].astype("int64")
    table["color_intensity"] = wine.data["color_intensity"]
    table["cultivar"] = pd.Categorical.from_codes(wine.target, wine.target_names)
    colour_by, x_col, y_col = "cultivar", "flavanoids", "proline"
    print(
        "Data: vega_datasets is not installed; scikit-learn's wine table instead, "
        "made mixed (its class as a categorical 'cultivar' column)"
    )
if QUICK:
    table = table.sample(120, random_state=0).reset_index(drop=True)
print(f"{table.shape[0]} rows; dtypes:")
print(table.dtypes.to_string())
print("missing values per column:", table.isna().sum().to_dict())

# %%
# Fit on the table as it is. The columns are in their own units (pounds next
# to seconds): each real-valued column gets its own variance. The defaults
# count Adam steps, so that a few hundred rows train long enough, then refit on
# every row; ``learning_rate=1e-2, early_stopping=True`` gives rows of a
# little lower quality in about 60 % of the time
# (benchmarks/RESULTS_synthetic.md). ``n_components=2`` gives a code to plot;
# the default, 8, keeps more of a wide table's dependence between columns.
vae = VAETransformer(n_components=2, max_iter=3 if QUICK else "auto", random_state=0)
vae.set_output(transform="pandas")
vae.fit(table)
print(f"{vae.n_iter_} epochs; mean ELBO {vae.score(table):.1f} nats per row")
codes = vae.transform(table)  # a DataFrame: vaetransformer0, vaetransformer1
print(codes.head(3))

# %%
# Synthetic rows: a DataFrame with the same columns and dtypes, categories as
# categories and integers as integers.
synthetic = vae.sample(len(table), random_state=0, decoder_noise=True)
print(synthetic.head())
assert list(synthetic.dtypes) == list(table.dtypes)

# %%
# Each column, real against synthetic: histograms for numbers, bars of the
# category shares for categorical columns.
columns = list(table.columns)
ncols = 4
nrows = -(-len(columns) // ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.9 * nrows))
for ax, column in zip(axes.flat, columns):
    real, fake = table[column], synthetic[column]
    if isinstance(real.dtype, pd.CategoricalDtype):
        cats = list(real.cat.categories)
        shares = [
            values.value_counts(normalize=True).reindex(cats, fill_value=0)
            for values in (real, fake)
        ]
        where = np.arange(len(cats))
        ax.bar(where - 0.2, shares[0], width=0.4, label="real", color="0.55")
        ax.bar(where + 0.2, shares[1], width=0.4, label="synthetic", color="C1")
        ax.set_xticks(where, [str(c) for c in cats])
        ax.set_ylabel("share of rows")
    else:
        values = real.dropna()
        low, high = values.min(), values.max()
        margin = 0.1 * (high - low)
        bins = np.linspace(low - margin, high + margin, 25)
        ax.hist(values, bins=bins, density=True, color="0.55", label="real")
        ax.hist(
            fake,
            bins=bins,
            density=True,
            histtype="step",
            lw=2,
            color="C1",
            label="synthetic",
        )
        outside = np.mean((fake < bins[0]) | (fake > bins[-1]))
        if outside:
            ax.text(
                0.98,
                0.95,
                f"{outside:.0%} off the axis",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=8,
                color="C1",
            )
        ax.set_yticks([])
    ax.set_title(column)
for ax in axes.flat[len(columns) :]:
    ax.set_axis_off()
axes.flat[0].legend(loc="best", fontsize=8)
fig.suptitle("Real rows (grey) and as many synthetic rows (orange), column by column")
fig.tight_layout()
save(fig, "synthetic_table_columns.png")

# %%
# Dependence between columns, which the histograms do not show: the 2-D codes
# coloured by a categorical column, and two real-valued columns against each
# other, real and synthetic.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
groups = list(table[colour_by].cat.categories)
for i, group in enumerate(groups):
    mine = (table[colour_by] == group).to_numpy()
    axes[0].scatter(*codes[mine].to_numpy().T, s=9, color=f"C{i}", label=str(group))
    for ax, rows in zip(axes[1:], (table, synthetic)):
        sel = rows[colour_by] == group
        ax.scatter(rows.loc[sel, x_col], rows.loc[sel, y_col], s=9, color=f"C{i}")
axes[0].set(title="codes (posterior means)", xlabel="latent 1", ylabel="latent 2")
axes[0].legend(title=colour_by, fontsize=8)
for ax, title in zip(axes[1:], ("real rows", "synthetic rows")):
    ax.set(title=title, xlabel=x_col, ylabel=y_col)
axes[2].set(xlim=axes[1].get_xlim(), ylim=axes[1].get_ylim())
fig.tight_layout()
save(fig, "synthetic_table_pairs.png")

# %%
# Synthetic rows are not anonymous: a VAE can reproduce rows it was trained on.
# A quick check: the distance of each synthetic row to its nearest training
# row, against the distance of each training row to its nearest other one
# (real-valued columns standardized, a missing value at the mean, categories
# one-hot / sqrt(2)). Far fewer synthetic rows than that very close would be
# reassuring; many at distance ~0 are copies.
numeric = [c for c in columns if not isinstance(table[c].dtype, pd.CategoricalDtype)]


def as_vectors(rows):
    num = (rows[numeric] - table[numeric].mean()) / table[numeric].std()
    parts = [num.fillna(0).to_numpy()]
    for c in columns:
        if c not in numeric:
            parts.append(pd.get_dummies(rows[c]).to_numpy(float) / np.sqrt(2))
    return np.hstack(parts)


nn = NearestNeighbors(n_neighbors=2).fit(as_vectors(table))
train_gap = nn.kneighbors(as_vectors(table))[0][:, 1]
synthetic_gap = nn.kneighbors(as_vectors(synthetic), n_neighbors=1)[0][:, 0]
print(
    f"median distance to the nearest training row: synthetic rows "
    f"{np.median(synthetic_gap):.2f}, training rows (to another) "
    f"{np.median(train_gap):.2f}; synthetic rows closer than the closest 5 % "
    f"of training pairs: {np.mean(synthetic_gap < np.percentile(train_gap, 5)):.1%}"
)

show()

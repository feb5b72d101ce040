"""Mixed-type tables: categorical columns encoded inside, per-column likelihoods.

Two jobs, numpy and DataFrames in, plain data out (no torch):

- :class:`TableEncoder` turns a table whose categorical columns are pandas
  ``category``/string/object or polars ``Categorical``/``Enum``/``String``
  columns into the float matrix the model sees (each categorical column as a
  one-hot group), and model rows back into a table like the training one.
- :func:`likelihood_blocks` resolves ``VAETransformer(likelihood=...)`` (a
  name, a ``Likelihood``, or ``ColumnTransformer``-style ``(likelihood,
  columns)`` pairs) over the model's columns into blocks of one likelihood
  each, which ``skvae.likelihoods.ColumnLikelihoods`` joins.
"""

import numbers
import warnings

import numpy as np

from skvae.likelihoods import (
    LIKELIHOODS,
    Categorical,
    ColumnLikelihoods,
    Likelihood,
    make_likelihood,
)

# A categorical column with more categories than this fraction of the rows
# looks like an identifier (a name, an ID): fit warns.
IDENTIFIER_FRACTION = 0.5

# A numeric column of a mixed-type table whose most frequent value holds at
# least this share of its observed values, with at least SPIKE_MIN_OTHERS
# distinct other values, is modelled as that value's indicator (a categorical
# pair) and the column's other values (Gaussian, missing where the column
# sits at the value): a hurdle model (Cragg 1971) of a zero-inflated or
# heaped column (income, rainfall, hours worked), which a Gaussian smears.
SPIKE_SHARE = 0.2
SPIKE_MIN_OTHERS = 5
# An integer column of a mixed-type table with at most this many distinct
# values (a code: years of education, a month, a count of children) is
# modelled as a categorical over its values (each value a probability, not
# a density that smears it between the integers), and comes back as numbers.
MAX_LEVELS = 20

# Every column the user does not give a likelihood gets this one (with a
# list of pairs; a single name or instance applies to every numeric column).
DEFAULT_LIKELIHOOD = "gaussian"


def table_library(X):
    """'pandas', 'polars' or None, without importing either."""
    module = type(X).__module__.split(".")[0]
    return module if module in ("pandas", "polars") else None


def _is_categorical_dtype(dtype, library):
    if library == "pandas":
        import pandas as pd

        return isinstance(dtype, pd.CategoricalDtype) or (
            not pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            and (
                pd.api.types.is_string_dtype(dtype)
                or pd.api.types.is_object_dtype(dtype)
            )
        )
    import polars as pl

    return dtype in (pl.Categorical, pl.String) or isinstance(dtype, pl.Enum)


def _pandas_column(X, name):
    """Column ``name`` of a pandas DataFrame, found by its label or its text.

    TableEncoder keeps column names as text (feature names, weights files), so
    a column labelled by a number (``pd.DataFrame(array)``: 0, 1, ...) is
    looked up by ``str(label)``.
    """
    if name in X.columns:
        return X[name]
    for label in X.columns:
        if str(label) == name:
            return X[label]
    raise ValueError(
        f"X has no column {name!r}: its columns are {list(X.columns)}. Pass "
        "a table with the columns the model was fitted on."
    )


def _column_values(X, name, library):
    """A column as a 1-D object ndarray, missing values as None."""
    if library == "pandas":
        column = _pandas_column(X, name)
        values = column.to_numpy(dtype=object, copy=True)
        values[column.isna().to_numpy()] = None  # NaN, None, pd.NA, NaT
        return values
    values = np.array(X.get_column(name).to_list(), dtype=object)
    values[[v != v for v in values]] = None  # float NaN besides polars' null
    return values


def _may_hold_numbers(dtype, library):
    """Numbers, booleans, categories of numbers, or objects (which may be
    numbers: converting them decides); not dates, durations, text or other
    categories."""
    if library == "pandas":
        import pandas as pd

        if isinstance(dtype, pd.CategoricalDtype):  # categories of numbers
            return pd.api.types.is_numeric_dtype(dtype.categories)
        return (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
        )
    import polars as pl

    return dtype.is_numeric() or dtype in (pl.Boolean, pl.Object)


def check_numeric_columns(dtypes, library, *, what):
    """ValueError naming the first column of ``dtypes`` ({name: dtype} of a
    table) that cannot hold numbers (a date, say); ``what`` ends the sentence
    "Column 'c' has dtype d, which ..."."""
    for name, dtype in dtypes.items():
        if not _may_hold_numbers(dtype, library):
            raise ValueError(f"Column {name!r} has dtype {dtype}, which {what}")


class TableEncoder:
    """The model's view of a table with categorical columns, and back.

    Parameters
    ----------
    categorical_features : 'from_dtype', None or array-like
        Which columns are categorical: by dtype (as
        ``HistGradientBoostingClassifier``), none, or given by name, index or
        boolean mask.
    spikes : bool, default=True
        Whether to model integer codes and heaped numeric columns as
        ``levels`` and ``spikes`` (below); the estimator passes True only when
        every numeric column is Gaussian (``likelihood='gaussian'``, the
        default): a likelihood the user names for a column applies to all of
        its values.

    Attributes (after :meth:`fit`)
    ------------------------------
    columns : list of str
        The table's columns.
    categories : dict
        For each categorical column, its categories seen in fit (sorted), in
        the order of its one-hot group.
    dtypes : dict
        Each column's dtype in fit, as text, to give generated rows the same.
    feature_names_out : list of str
        The model's columns: a numeric column keeps its name, a categorical
        one becomes ``<column>_<category>`` per category.
    groups : list of list of int
        The model columns of each categorical column's one-hot group, and of
        each spike's indicator pair.
    spikes : dict
        For each numeric column modelled as a hurdle, its most frequent value
        (float). Only in a table with categorical columns (one that the
        model already needs as a DataFrame): a numeric column whose most
        frequent value holds at least ``SPIKE_SHARE`` of its observed values
        and that has at least ``SPIKE_MIN_OTHERS`` distinct other values.
        Its model columns are ``<column>`` (the value; missing where it
        equals the spike), then ``<column>==<spike>`` and
        ``<column>!=<spike>``, the indicator's one-hot pair.
    levels : dict
        For each integer column modelled as a categorical over its values,
        those values (sorted floats). Only in a table with categorical
        columns: an integer column with 2 to ``MAX_LEVELS`` distinct values.
        Its model columns are ``<column>==<value>``, a one-hot group.
    widths : dict
        The number of model columns of each column.
    """

    def __init__(self, categorical_features="from_dtype", spikes=True):
        self.categorical_features = categorical_features
        self.find_spikes = spikes

    def fit(self, X):
        """Learn the columns, their dtypes and the categories of X."""
        self.library = table_library(X)
        self.columns = [str(c) for c in X.columns]
        # the labels themselves, for tables of rows back (pandas labels may be
        # numbers: pd.DataFrame(array) has 0, 1, ...)
        self.labels = [_plain(c) for c in X.columns]
        dtypes = dict(zip(self.columns, _dtypes(X, self.library)))
        self.dtypes = {c: str(d) for c, d in dtypes.items()}
        categorical = self._categorical_columns(X)
        check_numeric_columns(
            {c: d for c, d in dtypes.items() if c not in categorical},
            self.library,
            what="is neither numeric nor one of the categorical columns: list "
            "it in categorical_features, convert it (e.g. a date to a number) or "
            "drop it.",
        )
        self.categories = {}
        for name in categorical:
            values = _column_values(X, name, self.library)
            seen = sorted({v for v in values if v is not None}, key=str)
            if not seen:
                raise ValueError(
                    f"Categorical column {name!r} has no observed value: the "
                    "model cannot learn its categories. Drop it."
                )
            if len(seen) > IDENTIFIER_FRACTION * len(values):
                warnings.warn(
                    f"Categorical column {name!r} has {len(seen)} categories "
                    f"among {len(values)} rows: most are seen once or twice, "
                    "so the model can only memorize them (and synthetic rows "
                    "copy them). If it names or identifies rows, drop it; if "
                    "it is free text, encode it first.",
                    UserWarning,
                    stacklevel=2,
                )
            self.categories[name] = seen
        self.pandas_categories = {
            name: list(_pandas_column(X, name).cat.categories)
            for name in self.categories
            if self.library == "pandas" and self.dtypes[name] == "category"
        }
        # a polars Enum's categories, in its order (unseen ones too)
        self.polars_categories = {
            name: list(dtypes[name].categories.to_list())
            for name in self.categories
            if self.library == "polars" and self.dtypes[name].startswith("Enum")
        }
        self.spikes, self.levels = {}, {}
        if self.categories and self.find_spikes:
            for name in self.columns:
                if name in self.categories or _is_bool_dtype_name(self.dtypes[name]):
                    continue
                values = _numeric(X, name, self.library)
                distinct = np.unique(values[~np.isnan(values)])
                if _is_integer_dtype_name(self.dtypes[name]) and (
                    2 <= len(distinct) <= MAX_LEVELS
                ):
                    self.levels[name] = [float(v) for v in distinct]
                    continue
                spike = _spike(values)
                if spike is not None:
                    self.spikes[name] = spike
        names, groups = [], []
        for name in self.columns:
            if name in self.categories:
                start = len(names)
                names += [f"{name}_{c}" for c in self.categories[name]]
                groups.append(list(range(start, len(names))))
            elif name in self.levels:
                start = len(names)
                names += [f"{name}=={_spike_text(v)}" for v in self.levels[name]]
                groups.append(list(range(start, len(names))))
            elif name in self.spikes:
                value = _spike_text(self.spikes[name])
                names += [name, f"{name}=={value}", f"{name}!={value}"]
                groups.append([len(names) - 2, len(names) - 1])
            else:
                names.append(name)
        self.feature_names_out = names
        self.groups = groups
        return self

    @property
    def widths(self):
        """{column: its number of model columns}."""
        spikes, levels = getattr(self, "spikes", {}), getattr(self, "levels", {})
        return {
            name: len(self.categories[name])
            if name in self.categories
            else len(levels[name])
            if name in levels
            else (3 if name in spikes else 1)
            for name in self.columns
        }

    def encode_numeric(self, name, values):
        """Model columns of numeric column ``name`` for ``values`` (float64,
        NaN missing), shape (n, width): the values, then a spike's indicator
        pair (the value missing where it sits at the spike), or a levels
        column's one-hot group (all NaN for a missing or unseen value)."""
        values = np.asarray(values, dtype=np.float64)
        levels = getattr(self, "levels", {}).get(name)
        if levels is not None:
            out = (values[:, None] == np.asarray(levels)[None, :]).astype(np.float64)
            out[~out.any(axis=1)] = np.nan
            return out
        spike = getattr(self, "spikes", {}).get(name)
        if spike is None:
            return values[:, None]
        at = values == spike
        out = np.column_stack([np.where(at, np.nan, values), at, ~at]).astype(
            np.float64
        )
        out[np.isnan(values), 1:] = np.nan
        return out

    def _categorical_columns(self, X):
        spec = self.categorical_features
        if spec is None:
            return []
        if isinstance(spec, str):
            return [
                c
                for c, d in zip(self.columns, _dtypes(X, self.library))
                if _is_categorical_dtype(d, self.library)
            ]
        spec = np.asarray(spec)
        if spec.dtype == bool:
            if len(spec) != len(self.columns):
                raise ValueError(
                    f"categorical_features is a boolean mask of {len(spec)} "
                    f"values, but X has {len(self.columns)} columns."
                )
            return [c for c, flag in zip(self.columns, spec) if flag]
        out = []
        for item in spec.tolist():
            if isinstance(item, numbers.Integral):
                out.append(self.columns[item])
            elif str(item) in self.columns:
                out.append(str(item))
            else:
                raise ValueError(
                    f"categorical_features names {item!r}, which is not a column "
                    f"of X ({self.columns})."
                )
        return out

    def transform(self, X):
        """The model's float64 matrix: categories one-hot, unknown or missing as NaN.

        A category not seen in fit counts as missing (its group is all NaN),
        as ``OneHotEncoder(handle_unknown='ignore')`` ignores it.
        """
        n = len(X)
        out = np.empty((n, len(self.feature_names_out)))
        position = 0
        for name in self.columns:
            if name not in self.categories:
                block = self.encode_numeric(name, _numeric(X, name, self.library))
                out[:, position : position + block.shape[1]] = block
                position += block.shape[1]
                continue
            cats = self.categories[name]
            codes = self.category_codes(name, _column_values(X, name, self.library))
            group = np.zeros((n, len(cats)))
            known = codes >= 0
            group[np.flatnonzero(known), codes[known]] = 1.0
            group[~known] = np.nan
            out[:, position : position + len(cats)] = group
            position += len(cats)
        return out

    def category_codes(self, name, values):
        """Each value's position among the categories of column ``name``
        seen in fit; -1 for a missing value (None) or an unseen category.

        Looked up by text, as fit sorts and names them: weights files written
        by earlier 0.2 development versions hold the categories as text.
        """
        lookup = {str(c): i for i, c in enumerate(self.categories[name])}
        return np.array([-1 if v is None else lookup.get(str(v), -1) for v in values])

    def inverse_transform(self, X_model, output):
        """Rows in the model's columns back as rows of the table.

        Categorical groups become the category of their largest value (a
        one-hot draw's 1, or the most probable category of the means);
        boolean columns are True where the value is at least 0.5 (a mean, or
        a draw of the column's likelihood); integer columns are rounded and
        clipped to their dtype's range (0-255 for uint8). ``output`` is
        'pandas', 'polars' (each column in its training dtype, categories as
        in the training table) or 'default' (an object ndarray).
        """
        columns = {}
        position = 0
        for name in self.columns:
            if name in self.categories:
                width = len(self.categories[name])
                group = X_model[:, position : position + width]
                cats = np.array(self.categories[name], dtype=object)
                columns[name] = cats[np.argmax(group, axis=1)]
                position += width
            elif name in getattr(self, "levels", {}):
                # E[x] = sum_k P(level k) level_k: a draw's one-hot group gives
                # its level, the means the conditional mean
                levels = np.asarray(self.levels[name])
                group = X_model[:, position : position + len(levels)]
                p = group / np.maximum(group.sum(axis=1, keepdims=True), 1e-300)
                values = p @ levels
                if _is_integer_dtype_name(self.dtypes[name]):
                    values = np.clip(
                        np.rint(values), *_integer_range(self.dtypes[name])
                    )
                columns[name] = values
                position += len(levels)
            else:
                values = X_model[:, position]
                spike = getattr(self, "spikes", {}).get(name)
                if spike is not None:
                    # E[x] = P(spike) spike + P(other) value: a draw's one-hot
                    # pair gives the spike or the value, the means the hurdle's
                    # mean (imputation's conditional mean)
                    pair = X_model[:, position + 1 : position + 3]
                    p_spike = pair[:, 0] / np.maximum(pair.sum(axis=1), 1e-300)
                    values = np.where(
                        p_spike >= 1, spike, p_spike * spike + (1 - p_spike) * values
                    )
                    position += 2
                dtype = self.dtypes[name]
                if _is_bool_dtype_name(dtype):
                    values = values >= 0.5
                elif _is_integer_dtype_name(dtype):
                    values = np.clip(np.rint(values), *_integer_range(dtype))
                columns[name] = values
                position += 1
        if output == "pandas":
            return self._pandas(columns)
        if output == "polars":
            return self._polars(columns)
        return np.column_stack([columns[c].astype(object) for c in self.columns])

    def _pandas(self, columns):
        import pandas as pd

        df = pd.DataFrame(columns, columns=self.columns)
        for name in self.columns:
            dtype = self.dtypes[name]
            if name in self.pandas_categories:
                df[name] = pd.Categorical(
                    df[name], categories=self.pandas_categories[name]
                )
            elif name in self.categories:
                df[name] = df[name].astype(dtype if dtype != "object" else object)
            else:
                df[name] = df[name].astype(dtype)
        df.columns = self.labels
        return df

    def _polars(self, columns):
        import polars as pl

        series = []
        for name in self.columns:
            values = columns[name]
            if name in self.categories:
                series.append(pl.Series(name, values.tolist(), dtype=pl.String))
            else:
                series.append(pl.Series(name, values))
        df = pl.DataFrame(series)
        casts = {}
        for name in self.columns:
            if name in self.polars_categories:
                dtype = pl.Enum([str(c) for c in self.polars_categories[name]])
            else:
                dtype = _polars_dtype(self.dtypes[name])
            if dtype is not None:
                casts[name] = dtype
        return df.cast(casts) if casts else df

    def state(self):
        """Plain data (weights files): what :meth:`from_state` rebuilds it from."""
        return {
            "categorical_features": (
                self.categorical_features
                if isinstance(self.categorical_features, str)
                else np.asarray(self.categorical_features).tolist()
            ),
            "library": self.library,
            "columns": self.columns,
            "labels": self.labels,
            "dtypes": self.dtypes,
            "categories": {
                k: [_plain(c) for c in v] for k, v in self.categories.items()
            },
            "pandas_categories": {
                k: [_plain(c) for c in v] for k, v in self.pandas_categories.items()
            },
            "polars_categories": {
                k: [_plain(c) for c in v] for k, v in self.polars_categories.items()
            },
            "feature_names_out": self.feature_names_out,
            "groups": self.groups,
            "spikes": dict(getattr(self, "spikes", {})),
            "levels": dict(getattr(self, "levels", {})),
        }

    @classmethod
    def from_state(cls, state):
        encoder = cls(state["categorical_features"])
        for key in (
            "library",
            "columns",
            "dtypes",
            "categories",
            "pandas_categories",
            "feature_names_out",
            "groups",
        ):
            setattr(encoder, key, state[key])
        # files from before labels were kept: the names were the labels
        encoder.labels = state.get("labels", state["columns"])
        encoder.polars_categories = state.get("polars_categories", {})
        # files from before spikes: none
        encoder.spikes = {k: float(v) for k, v in state.get("spikes", {}).items()}
        encoder.levels = {
            k: [float(x) for x in v] for k, v in state.get("levels", {}).items()
        }
        return encoder


def _spike(values):
    """The most frequent of ``values`` (float64, NaN missing) when it holds at
    least ``SPIKE_SHARE`` of the observed ones and at least
    ``SPIKE_MIN_OTHERS`` distinct others remain; else None."""
    values = values[~np.isnan(values)]
    if not len(values):
        return None
    unique, counts = np.unique(values, return_counts=True)
    top = int(np.argmax(counts))
    if counts[top] < SPIKE_SHARE * len(values) or len(unique) - 1 < SPIKE_MIN_OTHERS:
        return None
    return float(unique[top])


def _spike_text(value):
    """A spike as text in model column names: 0.0 as '0'."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _plain(value):
    """A category as a plain Python scalar (what a weights-only load accepts):
    numpy scalars as their Python value, anything else but text as text."""
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _dtypes(X, library):
    if library == "pandas":
        return list(X.dtypes)
    return list(X.schema.values())


def _numeric(X, name, library):
    """A numeric column as float64, missing as NaN; a clear error otherwise."""
    column = _pandas_column(X, name) if library == "pandas" else X.get_column(name)
    try:
        if library == "pandas":
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return column.cast(float).fill_null(float("nan")).to_numpy()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Column {name!r} is neither numeric nor categorical ({exc}). "
            "Convert it (e.g. a date to a number) or drop it."
        ) from None


def _is_integer_dtype_name(name):
    return name.lower().lstrip("u").startswith("int")


def _is_bool_dtype_name(name):
    return name.lower() in ("bool", "boolean")


def _integer_range(name):
    """(lowest, highest) value of an integer dtype named ``name`` (numpy,
    pandas or polars: 'uint8', 'Int64', 'UInt16'), as floats that cast back
    to it; (-inf, inf) for one numpy does not know (polars' Int128)."""
    try:
        info = np.iinfo(np.dtype(name.lower()))
    except TypeError:
        return -np.inf, np.inf
    low, high = float(info.min), float(info.max)
    if high > info.max:  # 2**63 - 1 is not a float64: the float below it
        high = np.nextafter(high, 0.0)
    return low, high


def _polars_dtype(name):
    """The polars dtype named ``name`` (its text in the schema), else None."""
    import polars as pl

    dtype = getattr(pl, name, None)
    if isinstance(dtype, type) and issubclass(dtype, pl.DataType):
        return dtype
    return None


# ------------------------------------------------------ likelihood blocks


def _resolve_columns(columns, raw_X, raw_names, model_names, raw_to_model):
    """Model column indices of one ``columns`` entry (flat)."""
    if callable(columns):  # make_column_selector
        columns = columns(raw_X)
    if isinstance(columns, (str, numbers.Integral)):
        columns = [columns]
    if isinstance(columns, slice):
        columns = list(range(len(raw_names)))[columns]
    columns = list(columns)
    if columns and all(isinstance(c, (bool, np.bool_)) for c in columns):
        if len(columns) != len(raw_names):
            raise ValueError(
                f"A boolean mask of {len(columns)} values for {len(raw_names)} columns."
            )
        columns = [i for i, flag in enumerate(columns) if flag]
    out = []
    for c in columns:
        if isinstance(c, numbers.Integral):
            if not -len(raw_names) <= c < len(raw_names):
                raise ValueError(
                    f"Column index {c} is out of range for {len(raw_names)} columns."
                )
            out += raw_to_model[raw_names[c]]
        elif str(c) in raw_to_model:
            out += raw_to_model[str(c)]
        elif str(c) in model_names:
            out.append(model_names.index(str(c)))
        else:
            raise ValueError(
                f"likelihood names column {c!r}, which is not a column of X "
                f"(columns: {raw_names})."
            )
    return out


def _name(spec):
    return spec if isinstance(spec, str) else type(spec).__name__


def likelihood_blocks(
    spec,
    *,
    raw_X,
    raw_names,
    model_names,
    groups,
    raw_to_model,
    near_constant_ratio=None,
):
    """``[(name, likelihood, model columns)]`` for ``VAETransformer(likelihood=spec)``.

    Categorical groups of the table encoder become Categorical blocks; a
    single name or instance covers the other columns; ``(likelihood,
    columns)`` pairs cover theirs, and the rest get ``DEFAULT_LIKELIHOOD``.
    A ``'categorical'`` pair takes a list of one-hot groups (or one flat
    group). A Gaussian or Student-t likelihood given by name (or as the
    default) gets ``near_constant_ratio`` (None: its class's default).
    Raises ValueError naming a column claimed twice or not found.
    """
    n = len(model_names)
    blocks = [("categorical", Categorical(), list(g)) for g in groups]
    if isinstance(spec, (str, Likelihood)):
        pairs, default = [], spec
    else:
        pairs, default = list(spec), DEFAULT_LIKELIHOOD
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError(
                "likelihood must be a name, a Likelihood, or a list of "
                f"(likelihood, columns) pairs; got the item {pair!r}."
            )
        lik, columns = pair
        if not (isinstance(lik, Likelihood) or lik in LIKELIHOODS):
            raise ValueError(
                f"Unknown likelihood {lik!r}: use one of {sorted(LIKELIHOODS)} or a "
                "skvae.likelihoods.Likelihood instance."
            )
        nested = (
            isinstance(columns, (list, tuple))
            and columns
            and all(isinstance(c, (list, tuple)) for c in columns)
        )
        if lik == "categorical" or isinstance(lik, Categorical):
            group_list = columns if nested else [columns]
        else:
            group_list = [columns]
        for cols in group_list:
            model_cols = _resolve_columns(
                cols, raw_X, raw_names, model_names, raw_to_model
            )
            if any(model_cols == b[2] and b[0] == "categorical" for b in blocks):
                continue  # a categorical column already encoded as one
            blocks.append(
                (_name(lik), make_likelihood(lik, near_constant_ratio), model_cols)
            )
    claimed = {}
    for b, (_, _, cols) in enumerate(blocks):
        for c in cols:
            if c in claimed:
                raise ValueError(
                    f"Column {model_names[c]!r} is given two likelihoods "
                    f"({blocks[claimed[c]][0]!r} and {blocks[b][0]!r})."
                )
            claimed[c] = b
    rest = [c for c in range(n) if c not in claimed]
    if rest:
        blocks.append(
            (_name(default), make_likelihood(default, near_constant_ratio), rest)
        )
    return blocks


def joined_likelihood(blocks):
    """One likelihood for the blocks: itself for one block over every column."""
    if len(blocks) == 1 and blocks[0][2] == list(range(len(blocks[0][2]))):
        return blocks[0][1]
    return ColumnLikelihoods([(lik, cols) for _, lik, cols in blocks])

"""VAEImputer: a VAE trained on the observed entries fills in the missing ones.

The sklearn face only (parameters, validation, the missingness bookkeeping of
sklearn's imputers); the imputation itself is the torch model's
(:meth:`skvae.VAEModule.impute`), reached through the owned VAETransformer.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import MissingIndicator

from skvae._owned import OwnedVAEMixin, mirrored_constraints
from skvae._tabular import (
    TableEncoder,
    _dtypes,
    check_numeric_columns,
    table_library,
)
from skvae._transformer import VAETransformer
from skvae._validation import (
    FLOAT_DTYPES,
    Interval,
    MissingValues,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    check_is_fitted,
    draw_seed,
    is_scalar_nan,
    validate_data,
)
from skvae.likelihoods._self_masking import SelfMaskingGaussian

# The imputer's own parameters; every other one is a VAETransformer parameter,
# passed on to the VAE it builds in fit.
_OWN_PARAMS = (
    "missing_values",
    "sample_posterior",
    "n_iw_samples",
    "add_indicator",
    "keep_empty_features",
    "missing_mechanism",
)


class VAEImputer(OwnedVAEMixin, TransformerMixin, BaseEstimator):
    """Missing-value imputation with a Variational Autoencoder (MIWAE).

    Fits a :class:`~skvae.VAETransformer` to the observed entries of X (the
    likelihood counts those only: the ELBO, or with ``n_importance_samples``
    > 1 the importance-weighted bound, of x_obs) and fills each missing entry
    with its conditional mean E[x_mis | x_obs] under the model, estimated by
    self-normalized importance sampling (Mattei & Frellsen 2019, "MIWAE").
    The interface is that of :class:`~sklearn.impute.IterativeImputer` and
    :class:`~sklearn.impute.KNNImputer`: ``missing_values``,
    ``add_indicator``, ``keep_empty_features``, ``sample_posterior`` (one
    draw from p(x_mis | x_obs) instead of the mean, for multiple imputation),
    ``get_feature_names_out`` and ``set_output``. Observed entries are
    returned as they are, bit for bit.

    A DataFrame with categorical columns (pandas ``category``, string or
    object columns; see ``categorical_features``) is imputed in one model
    with its numeric columns, each categorical column one-hot inside with a
    categorical likelihood (as in VAETransformer): a missing category gets
    the most probable category given the row's observed entries, or a draw
    with ``sample_posterior=True``, and :meth:`transform` returns a
    DataFrame with the table's columns, dtypes and index.

    The VAE's hyperparameters are the imputer's own parameters, under the
    same names and meanings as in :class:`~skvae.VAETransformer`, so that
    :class:`~sklearn.model_selection.GridSearchCV` tunes them directly
    (``{"n_components": [5, 10]}``). Several defaults differ, chosen for
    imputation (see Notes).

    Read more in the :ref:`User Guide <imputation>`.

    Parameters
    ----------
    n_components : int, default=10
        Number of latent dimensions (MIWAE's d = 10; VAETransformer's default
        is 2, for pictures).

    missing_values : int, float or np.nan, default=np.nan
        The placeholder of a missing entry. Entries equal to it are replaced
        by NaN before the VAE sees them. When it is not NaN, X must not hold
        NaN.

    sample_posterior : bool, default=False
        False: each missing entry gets its conditional mean E[x_mis | x_obs]
        (the best guess in squared error). True: the missing entries of a row
        get one joint draw from p(x_mis | x_obs), by sampling importance
        resampling (see Notes), for multiple imputation: fit with several
        ``random_state`` values and pool the analyses (Rubin 1987), as with
        ``IterativeImputer(sample_posterior=True)``.

    n_iw_samples : int, default=100
        Draws of z per row in :meth:`transform` (S below): the proposals of
        the importance sampling. The cost of transform grows linearly with it;
        the estimate's error falls as 1/sqrt(S) (not the training objective's
        K, which is ``n_importance_samples``).

    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns to the
        output: one 0/1 column per feature that had missing values at fit.

    keep_empty_features : bool, default=False
        Features entirely missing at fit are dropped from the output
        (False) or kept (True), their missing entries imputed with 0, as in
        sklearn's imputers. The VAE never sees them.
        With categorical columns, a column entirely missing is an error
        instead.

    missing_mechanism : {'mar', 'self_masking'}, default='mar'
        How entries went missing, as the model assumes it (Rubin 1976).
        ``'mar'``: missing at random, or completely at random (the
        missingness depends on observed values only, or on nothing): the
        mask is ignorable and the VAE models x_obs alone (MIWAE).
        ``'self_masking'``: missing not at random by self-masking, each
        feature's chance of going missing a function of its own, possibly
        hidden, value (e.g. large incomes or lab values above a detection
        limit left out): the VAE also models the mask, p(m_j = 1 | x_j) =
        Phi(a_j u_j + c_j) on the standardized value u_j, learned jointly
        with it in the importance-weighted bound (not-MIWAE; see Notes).
        Numeric data and ``likelihood='gaussian'`` only. Use it when the
        missing values are suspected to be systematically larger (or
        smaller) than the observed ones; on data missing at random it
        costs some accuracy (see ``benchmarks/RESULTS_imputation.md``).

    beta : float, default=1.0
        KL weight of the training loss (beta-VAE), as in VAETransformer.

    likelihood : {'gaussian', 'bernoulli'} or Likelihood instance, \
            default='gaussian'
        Observation model p(x|z), as in VAETransformer.

    near_constant_ratio : float in [1e-3, 1) or None, default=None
        When a feature counts as near-constant for the Gaussian's variance
        floor, as in VAETransformer.

    categorical_features : 'from_dtype', None or array-like, default='from_dtype'
        Categorical columns of a DataFrame, as in VAETransformer:
        ``'from_dtype'`` takes pandas ``category``, string and object columns
        (and polars ``Categorical``, ``Enum`` and ``String`` ones); or names,
        indices or a boolean mask; None: none (a DataFrame must then be
        numeric). Numeric and categorical columns share one model, each
        categorical column one-hot inside with a categorical likelihood; a
        missing category is filled with its most probable category given
        the row's observed entries (see Notes). Arrays are numeric.

    hidden_layer_sizes : array-like of int, default=(128, 128)
        Encoder widths (the decoder mirrors them), as in VAETransformer
        (whose default is (256, 256)).

    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='tanh'
        Hidden-layer activation, as in VAETransformer (whose default is
        'relu'; MIWAE's networks use tanh, and so imputed better here).

    max_iter : 'auto' or int, default='auto'
        Maximum number of training iterations, as in VAETransformer.

    batch_size : int, default=64
        Rows per minibatch, as in VAETransformer (whose default is 128).

    learning_rate : float, default=5e-3
        Adam's initial step size, and its schedule, as in VAETransformer.

    early_stopping : 'auto' or bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when their
        importance-weighted bound (their ELBO with ``n_importance_samples=1``)
        stops improving, as in VAETransformer. True, the default, keeps the
        early-stopped model: the held-out rows only score. ``'auto'`` is
        VAETransformer's (a refit on all the rows, on at most 5000 of them).

    validation_fraction : float, default=0.1
        Rows held out for early stopping, as in VAETransformer (a number
        here: VAETransformer's ``'auto'`` is 0.1 where there is no refit).

    n_iter_no_change : 'auto' or int, default='auto'
        Patience of the stopping rule, in iterations, as in VAETransformer.

    tol : float, default=1e-4
        Smallest improvement that counts, nats per row, as in VAETransformer.

    kl_warmup : int, default=0
        Iterations of linear KL warm-up, as in VAETransformer.

    free_bits : float, default=0.0
        Minimum KL per latent dimension in the loss, as in VAETransformer
        (only with ``n_importance_samples=1``).

    n_importance_samples : int, default=5
        Draws of z per row in training, as in VAETransformer: K > 1 trains on
        the importance-weighted bound of x_obs (MIWAE's objective, eq. 5;
        MIWAE's K is 20); 1 trains on the ELBO.

    warm_start : bool, default=False
        If True, :meth:`fit` continues training the previous fit's VAE, as
        in VAETransformer.

    encoder : torch.nn.Module instance or class, default=None
        A custom encoder network, as in VAETransformer.

    encoder_kwargs : dict, default=None
        Keyword arguments for an ``encoder`` class.

    decoder : torch.nn.Module instance or class, default=None
        A custom decoder network, as in VAETransformer.

    decoder_kwargs : dict, default=None
        Keyword arguments for a ``decoder`` class.

    random_state : int, RandomState instance or None, default=None
        Seeds the VAE's training and the fixed noise of :meth:`transform`.

    verbose : int, default=0
        Training output, as in VAETransformer.

    device : str, default='cpu'
        Torch device, as in VAETransformer.

    Attributes
    ----------
    vae_ : VAETransformer
        The fitted VAE, over the features that were not entirely missing.

    indicator_ : sklearn.impute.MissingIndicator or None
        The indicator of :meth:`transform`'s extra columns, or None without
        ``add_indicator``.

    n_iter_ : int
        Number of iterations the VAE trained (see VAETransformer).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X has string column names.

    See Also
    --------
    VAETransformer : The VAE itself.
    sklearn.impute.IterativeImputer : Round-robin regression of each feature
        on the others.
    sklearn.impute.KNNImputer : Mean of the nearest neighbours' values.
    sklearn.impute.SimpleImputer : Column mean, median or mode.
    sklearn.impute.MissingIndicator : The indicator of ``add_indicator``.

    Notes
    -----
    Training maximizes a bound on log p(x_obs), the likelihood of the
    observed entries only (Mattei & Frellsen 2019, eq. 4 for the ELBO, eq. 5
    for the importance-weighted bound). The encoder sees a row's missing
    entries at their conditional means given its observed entries under the
    factor analysis that starts the fit (fitted to the observed entries by
    EM; ``Encoder.set_conditional_fill``), together with the missingness
    mask (MIWAE section 3). :meth:`transform` then uses S = ``n_iw_samples`` draws
    z_s and their self-normalized importance weights (MIWAE eq. 9)::

        w_s = p(x_obs | z_s) p(z_s) / r(z_s)
        x_mis = sum_s (w_s / sum_t w_t) E[x_mis | z_s]

    computed by the torch model (:meth:`skvae.VAEModule.impute`). MIWAE
    draws them from the encoder, r = q(z | x_obs). With the Gaussian
    likelihood, half of them come instead from the Laplace approximation of
    p(z | x_obs) (the decoder linearized by Gauss-Newton around the
    encoder's mean; :meth:`skvae.VAEModule.laplace_posterior`), and r is the
    mixture of the two. The encoder is trained on whole rows' worth of
    missing entries and places its proposals loosely: on breast_cancer with
    50 % missing, 10 of its 100 draws carried the weight (effective sample
    size), 35 to 57 of the Laplace approximation's. The imputations' squared
    error fell from 0.288 to 0.270 there, and from 0.199 to 0.1708 at 20 %
    missing (IterativeImputer: 0.1712), for about 30 % more
    :meth:`transform` time. The encoder's conditional fill (above) then
    lowered them to 0.217 and 0.153 (3 seeds each; fit + transform 1.9
    CPU s at 50 %, 1.7 before). With

    ``sample_posterior=True``, one z_s is picked with probability
    ``w_s / sum_t w_t`` and x_mis drawn from p(x_mis | z_s) (sampling
    importance resampling, MIWAE section 4.2;
    :meth:`skvae.VAEModule.sample_imputation`). A row with nothing observed
    gets the model's marginal mean (or a draw from p(x)).

    For a categorical column, E[x | z] is the vector of its categories'
    probabilities (softmax of the decoder's logits), so the weighted mean
    above estimates P(x_j = c | x_obs) for each category c, and the
    imputation is the category that maximizes it: the most probable category
    under the model, the choice with the fewest expected errors. With
    ``sample_posterior=True`` the category is drawn from p(x_j | z_s).

    Each row's draws derive from its own values and the fit's seed, so
    :meth:`transform` is deterministic and a row's imputation does not
    depend on the other rows (two identical rows get identical draws).

    The defaults differ from VAETransformer's where imputation asked for
    it. Measured during development on breast_cancer with 50 % of the entries
    missing completely at random (standardized data, MSE on the hidden
    entries, seed 0 unless said; ``benchmarks/RESULTS_imputation.md`` has the
    full comparison):

    - ``n_importance_samples=5``: MIWAE's K = 20 gave 0.263 against 0.342
      when trained on the ELBO (500 epochs each, skvae 0.2); with the
      training schedule of skvae 0.3 (below), K = 10 gives 0.2425 in 1.5 CPU
      seconds of fit, K = 20 0.2414 in 4.4 s. With the weight average
      (VAETransformer's ``learning_rate``), K = 5 matched K = 10 (0.217 at
      50 %, 3 seeds) for a third less CPU time over the benchmark's
      breast_cancer cells (7.0 against 10.4 s).
    - ``activation='tanh'`` (MIWAE's): 0.294 against 0.310 with ReLU (mean
      over seeds 0-2); 0.707 against 0.753 on diabetes, 0.587 against 0.651
      on wine, 0.474 against 0.506 on digits.
    - ``n_components=10``, ``hidden_layer_sizes=(128, 128)``,
      ``batch_size=64``: MIWAE's sizes; 5 latent dimensions gave 0.294,
      widths (256, 256) 0.308 and (64, 64) 0.266, against 0.263.
    - ``early_stopping=True`` and VAETransformer's training schedule
      (``learning_rate=5e-3``, warmed up, divided by 5 on plateaus; 'auto'
      iterations and patience): early stopping watches the held-out
      importance-weighted bound (see VAETransformer). skvae 0.2 trained at a
      constant 1e-3 with a patience of 50 epochs and stopped after 180-500
      epochs (0.263, about 15 CPU s); the schedule stops after about 350
      steps (0.2425, 1.5 s).
    - ``n_iw_samples=100``: the MIWAE demo's 1000 gave 0.263 against 0.270
      with 100 draws in skvae 0.2, for ten times the cost of
      :meth:`transform` (about 3 s on breast_cancer's 569 rows; 0.3 s with
      100).

    With ``missing_mechanism='self_masking'`` the model is not-MIWAE's
    (Ipsen, Mattei & Frellsen 2021, section 3, eq. 3-5): p(x, m | z) =
    p(x | z) prod_j p(m_j | x_j), trained on the importance-weighted bound of
    (x_obs, m) and imputing by the same self-normalized importance sampling,
    with weights w_s = p(x_obs, m | z_s) p(z_s) / q(z_s | x_obs) and each
    missing entry's mean given z_s *and that it is missing*. Where the paper
    uses a logistic p(m_j | x_j) and samples x_mis from the decoder inside
    the weights (its eq. 5), a probit link lets x_mis integrate out in
    closed form, p(m_j = 1 | z) = Phi(t_j) with t_j = (a_j mu_u + c_j) /
    sqrt(1 + a_j^2 s_u^2), and E[x_j | z, m_j = 1] is a skew-normal's mean
    (see ``skvae.likelihoods._self_masking.SelfMaskingGaussian``). Features
    with no missing entry at fit have no missingness term. Self-masking is
    identifiable only through the model's assumptions (a Gaussian p(x | z)
    whose observed part is visibly truncated): expect it to help on values
    censored from above or below, not on MAR data.

    A Student-t likelihood with a per-row scale (the MIWAE demo's decoder),
    prototyped through ``likelihood=``, imputed worse here (0.313-0.348 over
    seeds 0-2, early stopping after 110-175 epochs): expect it to matter on
    heavy-tailed features rather than on these tables.

    References
    ----------
    P.-A. Mattei and J. Frellsen, "MIWAE: Deep Generative Modelling and
    Imputation of Incomplete Data Sets", ICML 2019, arXiv:1812.02633.

    N. B. Ipsen, P.-A. Mattei and J. Frellsen, "not-MIWAE: Deep Generative
    Modelling with Missing not at Random Data", ICLR 2021, arXiv:2006.12871.

    D. B. Rubin, "Inference and missing data", Biometrika 63(3), 1976.

    D. B. Rubin, "Multiple Imputation for Nonresponse in Surveys", Wiley, 1987.

    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
    arXiv:1312.6114.

    Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted
    Autoencoders", ICLR 2016, arXiv:1509.00519.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEImputer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(100, 2) @ rng.randn(2, 5)
    >>> X[rng.rand(100, 5) < 0.2] = np.nan
    >>> imp = VAEImputer(n_components=2, max_iter=5, random_state=0)
    >>> X_filled = imp.fit_transform(X)
    >>> X_filled.shape, bool(np.isnan(X_filled).any())
    ((100, 5), False)
    """

    _own_params = _OWN_PARAMS
    _parameter_constraints = mirrored_constraints(
        validation_fraction=[Interval(Real, 0, 1, closed="neither")],
        missing_values=[MissingValues(numeric_only=True)],
        sample_posterior=["boolean"],
        n_iw_samples=[Interval(Integral, 1, None, closed="left")],
        add_indicator=["boolean"],
        keep_empty_features=["boolean"],
        missing_mechanism=[StrOptions({"mar", "self_masking"})],
    )

    def __init__(
        self,
        n_components=10,
        *,
        missing_values=np.nan,
        sample_posterior=False,
        n_iw_samples=100,
        add_indicator=False,
        keep_empty_features=False,
        missing_mechanism="mar",
        beta=1.0,
        likelihood="gaussian",
        near_constant_ratio=None,
        categorical_features="from_dtype",
        hidden_layer_sizes=(128, 128),
        activation="tanh",
        max_iter="auto",
        batch_size=64,
        learning_rate=5e-3,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        kl_warmup=0,
        free_bits=0.0,
        n_importance_samples=5,
        warm_start=False,
        encoder=None,
        encoder_kwargs=None,
        decoder=None,
        decoder_kwargs=None,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        self.n_components = n_components
        self.missing_values = missing_values
        self.sample_posterior = sample_posterior
        self.n_iw_samples = n_iw_samples
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.missing_mechanism = missing_mechanism
        self.beta = beta
        self.likelihood = likelihood
        self.near_constant_ratio = near_constant_ratio
        self.categorical_features = categorical_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.kl_warmup = kl_warmup
        self.free_bits = free_bits
        self.n_importance_samples = n_importance_samples
        self.warm_start = warm_start
        self.encoder = encoder
        self.encoder_kwargs = encoder_kwargs
        self.decoder = decoder
        self.decoder_kwargs = decoder_kwargs
        self.random_state = random_state
        self.verbose = verbose
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to the observed entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data with missing entries marked by ``missing_values``;
            numbers (converted to float64 unless float32), a DataFrame
            (``pd.NA`` and polars nulls count as NaN; categorical columns
            allowed, their missing entries NaN, None or ``pd.NA``) or a list
            of rows.

        y : None
            Ignored.

        Returns
        -------
        self : VAEImputer
            The fitted imputer.

        Raises
        ------
        ValueError
            If X holds inf, NaN while ``missing_values`` is not NaN, strings
            outside a DataFrame's categorical columns, a table column that is
            neither numeric nor categorical (a date, named in the message),
            a table column with no observed value when X has categorical
            columns, or ``missing_values`` other than NaN with categorical
            columns; if X has no rows or features, or as
            :meth:`VAETransformer.fit` (values outside the likelihood's
            support, a diverging training). A previous fit is then left as it
            was.
        TypeError
            If X is a sparse matrix.
        """
        before = dict(vars(self))
        try:
            return self._fit(X)
        except BaseException:  # bad input or a failed training: nothing changes
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit(self, X):
        if self._categorical_columns(X):
            return self._fit_table(X)
        self._table_columns = None
        X, missing = self._validate(X, reset=True)
        valid = ~missing.all(axis=0)
        if self.warm_start and hasattr(self, "vae_"):
            if not np.array_equal(valid, self._valid_mask):
                raise ValueError(
                    "warm_start=True continues training the fitted VAE, but the "
                    "features entirely missing in X are not those of the "
                    "previous fit."
                )
        if valid.any():
            vae = self._fit_vae(X[:, valid])
        else:  # nothing but empty features: no VAE to fit
            vae = VAETransformer(**self._vae_params())
        self.vae_ = vae
        self._valid_mask = valid
        self.n_iter_ = getattr(vae, "n_iter_", 0)
        self.indicator_ = None
        if self.add_indicator:
            # numpy out whatever the global set_output: transform stacks it
            indicator = MissingIndicator(error_on_new=False)
            self.indicator_ = indicator.set_output(transform="default").fit(X)
        self._impute_seed = draw_seed(self.random_state)
        return self

    def _vae_params_for(self, X):
        """The VAE's parameters; self-masking replaces the Gaussian likelihood."""
        params = self._vae_params()
        if self.missing_mechanism == "self_masking":
            if not (isinstance(self.likelihood, str) and self.likelihood == "gaussian"):
                raise ValueError(
                    "missing_mechanism='self_masking' models a Gaussian p(x | z): "
                    f"it needs likelihood='gaussian', got {self.likelihood!r}."
                )
            params["likelihood"] = SelfMaskingGaussian(
                np.isnan(np.asarray(X, dtype=np.float64)).mean(axis=0),
                near_constant_ratio=self.near_constant_ratio,
            )
        return params

    def _categorical_columns(self, X):
        """The categorical columns of a table X (``categorical_features``)."""
        library = table_library(X)
        if library is None or self.categorical_features is None:
            return []
        encoder = TableEncoder(self.categorical_features)
        encoder.library = library
        encoder.columns = [str(c) for c in X.columns]
        return encoder._categorical_columns(X)

    def _fit_table(self, X):
        """Fit on a table with categorical columns: one VAE over them all."""
        if self.missing_mechanism != "mar":
            raise ValueError(
                f"missing_mechanism={self.missing_mechanism!r} models numeric "
                f"columns only, but X has categorical columns "
                f"({self._categorical_columns(X)}): pass missing_mechanism='mar' "
                "or drop them."
            )
        if not is_scalar_nan(self.missing_values):
            raise ValueError(
                f"missing_values={self.missing_values!r}, but X has categorical "
                f"columns ({self._categorical_columns(X)}), whose missing entries "
                "must be NaN, None or pd.NA: replace the placeholder by NaN and "
                "pass missing_values=np.nan."
            )
        polars = table_library(X) == "polars"
        X = _as_pandas(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        missing = X.isna().to_numpy()
        empty = [str(c) for c, flag in zip(X.columns, missing.all(axis=0)) if flag]
        if empty:
            raise ValueError(
                f"Column {empty[0]!r} has no observed value. With categorical "
                "columns, VAEImputer neither keeps nor drops such columns "
                "(keep_empty_features applies to numeric arrays): drop it."
            )
        vae = self._fit_vae(X)
        self.vae_ = vae
        self._valid_mask = np.ones(X.shape[1], dtype=bool)
        self._table_columns = list(X.columns)
        self._polars = polars
        self.n_iter_ = getattr(vae, "n_iter_", 0)
        self.indicator_ = None
        if self.add_indicator:
            # on the mask (NaN where missing): None in an object column is
            # missing here, not to MissingIndicator
            indicator = MissingIndicator(error_on_new=False)
            indicator.set_output(transform="default")
            self.indicator_ = indicator.fit(np.where(missing, np.nan, 0.0))
        self._impute_seed = draw_seed(self.random_state)
        return self

    def _transform_table(self, X):
        """:meth:`transform` of a model fitted on a table with categorical columns."""
        if table_library(X) is None:
            raise ValueError(
                "This VAEImputer was fitted on a table with categorical columns: "
                "pass a DataFrame with the same columns."
            )
        polars = table_library(X) == "polars"
        X = _as_pandas(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        missing = X.isna().to_numpy()
        X_model = self.vae_._validate_input(X, reset=False)
        out = X.copy()
        rows = missing.any(axis=1)
        if rows.any():
            imputed = self.vae_._impute(
                np.ascontiguousarray(X_model[rows]),
                self.n_iw_samples,
                self._impute_seed,
                draw=self.sample_posterior,
            )
            filled = self.vae_._table.inverse_transform(imputed, "pandas")
            for j, label in enumerate(X.columns):
                fill = missing[rows, j]
                if fill.any():
                    out[label] = _fill_column(
                        out[label],
                        np.flatnonzero(rows)[fill],
                        filled.iloc[:, j].to_numpy()[fill],
                    )
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(np.where(missing, np.nan, 0.0))
            names = self.indicator_.get_feature_names_out([str(c) for c in X.columns])
            for k, name in enumerate(names):
                out[name] = indicator[:, k].astype(np.float64)
        if polars:
            import polars as pl

            return pl.from_pandas(out)
        return out

    def transform(self, X):
        """Fill in the missing entries of X.

        Each missing entry gets its conditional mean E[x_mis | x_obs] under
        the VAE (or, with ``sample_posterior``, a draw from p(x_mis | x_obs)),
        by self-normalized importance sampling with ``n_iw_samples`` draws
        (MIWAE eq. 9; see the class Notes). Deterministic: the same row
        always gets the same values, whatever other rows share the call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to complete, missing entries marked by ``missing_values``;
            a DataFrame with the columns of fit for an imputer fitted on one
            with categorical columns.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features_out)
            X with its missing entries filled in, in X's dtype (float32 or
            float64); observed entries are X's own, bit for bit. Features
            entirely missing at fit are dropped, or kept with 0 in place of
            their missing entries (``keep_empty_features``); the indicator's
            columns follow (``add_indicator``). Fitted on a DataFrame with
            categorical columns: a DataFrame (polars for polars) with X's
            columns, dtypes and index, each missing category its most
            probable category given the row's observed entries (or a draw);
            a category unseen in fit stays as it is (the model reads it as
            missing); the indicator's 0/1 columns follow.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf, NaN while ``missing_values`` is not NaN, strings
            (outside a fitted table's categorical columns), has the wrong
            number of features, or is not a DataFrame with fit's columns
            when fitted on one with categorical columns.
        """
        check_is_fitted(self)
        if getattr(self, "_table_columns", None) is not None:
            return self._transform_table(X)
        X, missing = self._validate(X, reset=False)
        valid = self._valid_mask
        X_out = X.copy()
        if missing[:, valid].any():
            imputed = self.vae_._impute(
                np.ascontiguousarray(X[:, valid]),
                self.n_iw_samples,
                self._impute_seed,
                draw=self.sample_posterior,
            )
            fill = missing[:, valid]
            X_valid = X_out[:, valid]
            X_valid[fill] = imputed[fill]
            X_out[:, valid] = X_valid
        if self.keep_empty_features:
            X_out[:, ~valid] = np.where(missing[:, ~valid], 0.0, X[:, ~valid])
        else:
            X_out = X_out[:, valid]
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(X).astype(X_out.dtype)
            X_out = np.hstack([X_out, indicator])
        return X_out

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names: None uses ``feature_names_in_`` (or ``x0``,
            ``x1``, ... without it); otherwise they must match it.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input names of the features kept (see
            ``keep_empty_features``), then the indicator's
            ``missingindicator_<name>`` columns with ``add_indicator``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = _check_feature_names_in(self, input_features)
        names = input_features
        if not self.keep_empty_features:
            names = input_features[self._valid_mask]
        if self.indicator_ is None:
            return names
        return np.concatenate(
            [names, self.indicator_.get_feature_names_out(input_features)]
        )

    def _validate(self, X, *, reset):
        """X as a float array with NaN for missing entries, and its mask."""
        nan_marker = is_scalar_nan(self.missing_values)
        library = table_library(X)
        if library is not None:
            check_numeric_columns(
                dict(zip(map(str, X.columns), _dtypes(X, library))),
                library,
                what="is neither numeric nor one of the categorical columns ("
                f"categorical_features={self.categorical_features!r}): list it in "
                "categorical_features, convert it (e.g. a date to a number) or "
                "drop it.",
            )
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            copy=not nan_marker,
        )
        if nan_marker:
            return X, np.isnan(X)
        if np.isnan(X).any():
            raise ValueError(
                f"X contains NaN, but missing_values={self.missing_values!r} marks "
                "the missing entries. Pass missing_values=np.nan if NaN marks them "
                f"(after replacing the {self.missing_values!r} entries by NaN), or "
                "fill the NaN entries first."
            )
        missing = X == self.missing_values
        X[missing] = np.nan
        return X, missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = is_scalar_nan(self.missing_values)
        return tags


def _as_pandas(X):
    """A polars table as a pandas one (categories as categories); pandas as is."""
    if table_library(X) != "polars":
        return X
    return X.to_pandas()


def _fill_column(column, positions, values):
    """A copy of the pandas ``column`` with ``values`` at the row ``positions``.

    The column keeps its dtype: a categorical column gains the categories it
    lacks (a category seen in fit, absent from X's dtype).
    """
    import pandas as pd

    column = column.copy()
    if isinstance(column.dtype, pd.CategoricalDtype):
        new = [v for v in pd.unique(values) if v not in column.cat.categories]
        if new:
            column = column.cat.add_categories(new)
    column.iloc[positions] = values
    return column

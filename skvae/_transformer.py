"""VAETransformer: the Variational Autoencoder as a scikit-learn transformer.

The sklearn face only: parameters, input validation, numpy in and out. Below
it: the network factory (``_factory``), the training net
(``_net``), the torch model that computes the ELBO (``_modules``) and the
likelihoods (``skvae.likelihoods``); persistence in ``_persistence``.
"""

import warnings

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from skvae._base import (
    CONDITIONAL_MIN_ESS,
    CONDITIONAL_MIN_PROPOSALS,
    CONDITIONAL_PROPOSALS_PER_ROW,
    N_ELBO_SAMPLES,
    VAE_PARAMETER_CONSTRAINTS,
    BaseVAE,
)
from skvae._persistence import WeightsFileMixin
from skvae._validation import (
    _fit_context,
    check_is_fitted,
    check_positive_int,
    check_random_state,
    draw_seed,
)


class VAETransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, WeightsFileMixin, BaseVAE
):
    """Variational Autoencoder (Kingma & Welling 2013) as a transformer.

    A nonlinear, generative counterpart of :class:`~sklearn.decomposition.PCA`
    and :class:`~sklearn.decomposition.FactorAnalysis`. The generative model is
    ``p_theta(x, z) = p(z) p_theta(x | z)`` with a standard normal prior
    ``p(z) = N(0, I)`` on ``n_components`` latent variables and a decoder
    network giving ``p_theta(x | z)`` (Gaussian or Bernoulli). The inference
    model, or encoder, is ``q_phi(z | x) = N(mu(x), diag(sigma^2(x)))``.

    Who is who: **phi** are the encoder network's weights and biases, **theta**
    the decoder network's. **mu(x)** and **sigma(x)** are not parameters: they
    are the encoder's *outputs* for one row x. One network serves every row
    (amortized inference), so nothing is re-optimized for a new row.
    :meth:`transform` returns mu(x).

    Training maximizes the ELBO by minibatch gradient ascent (Adam) on phi and
    theta together, with the reparameterized sample
    ``z = mu + sigma * eps, eps ~ N(0, I)``, by the training net
    :class:`~skvae.VAENet` stored as ``net_``.

    Parameters
    ----------
    n_components : int, default=8
        Number of latent dimensions (width of ``z``). Dimensions the data do
        not need are switched off by the KL term (their code stays at the
        prior, ``mu`` near 0 and ``sigma`` near 1: "posterior collapse" of
        inactive units, Burda et al. 2016, section 5.2), so a code larger
        than needed costs little; 8 lets synthetic rows of a wide table keep
        what predicts one column from many (skvae 0.2 defaulted to 2). Pass
        ``n_components=2`` for a code to plot.

    beta : float, default=1.0
        Weight of the KL term in the training loss (beta-VAE, Higgins et al.
        2017). ``beta=1`` is the plain VAE; ``beta > 1`` favours compressed,
        disentangled codes; ``beta < 1`` favours reconstructions. Scores are
        always the plain ELBO (beta = 1), so models of any beta compare.

    likelihood : str, Likelihood instance or list of (likelihood, columns) \
            tuples, default='gaussian'
        Observation model p(x|z) of each column (:mod:`skvae.likelihoods`):
        ``'gaussian'`` (AEVB appendix C.2; a learned variance per feature,
        bounded below), ``'bernoulli'`` (appendix C.1; X in [0, 1]),
        ``'continuous_bernoulli'``, ``'poisson'``, ``'negative_binomial'``,
        ``'student_t'`` or ``'categorical'`` (one-hot rows); an instance of a
        :class:`~skvae.likelihoods.Likelihood` subclass (copied); or, for a
        mixed table, ``(likelihood, columns)`` pairs as in
        ``ColumnTransformer`` (columns no pair names are Gaussian). Fit names
        the column whose values leave its likelihood's support. With
        ``'gaussian'``, a table with categorical columns models an integer
        column of 2-20 values as a categorical over them, and a column heaped
        at one value (>= 20 % of rows) as a hurdle: that value's indicator
        and a Gaussian of the others (user guide, *Mixed-type tables*).

    near_constant_ratio : float in [1e-3, 1) or None, default=None
        When a feature counts as near-constant, for the ``'gaussian'`` and
        ``'student_t'`` likelihoods given by name (and the columns a list of
        pairs leaves to the Gaussian). Each feature's decoder variance is
        bounded below by 1e-3 of its training variance, which keeps the
        likelihood bounded; a feature whose variance is at most
        ``near_constant_ratio`` times the median variance of the features
        that likelihood models (an image's blank border pixel) is bounded by
        that fraction of the median instead, so that a new row that moves it
        costs a bounded number of nats (:class:`~skvae.likelihoods.Gaussian`).
        None: 1e-3. The median compares features in one unit (pixels,
        standardized columns): in a table of mixed units, a column of small
        numbers counts as near-constant. A Likelihood instance keeps its
        own. Fixed at the first fit: a warm start or ``partial_fit`` after
        changing it raises ValueError, as for ``likelihood``.
        :class:`VAEOutlierDetector` defaults to 0.1.

    categorical_features : 'from_dtype', None or array-like, default='from_dtype'
        Categorical columns of a DataFrame, one-hot encoded inside with a
        categorical likelihood each: ``'from_dtype'`` takes pandas
        ``category``, string and object columns and polars ``Categorical``,
        ``Enum`` and ``String`` ones; or names, indices or a boolean mask;
        None: none. A category unseen in fit counts as missing. See the user
        guide's *Mixed-type tables*.

    hidden_layer_sizes : 'auto' or array-like of int, default='auto'
        Widths of the encoder's hidden layers; the decoder mirrors them.
        ``'auto'``: (64, 64) below 1000 training rows, else (256, 256), by
        the rows of the fit that builds the networks: with :meth:`partial_fit`,
        the first chunk's (set the widths when the chunks are small and the
        data large). A model loaded by :meth:`load_weights` keeps ``'auto'``
        and the widths its file has. Each network also has a linear path
        beside its MLP, so that the model contains factor analysis; a
        Gaussian model starts as the factor analysis of the training rows
        (see Notes).

    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden-layer activation, as in :class:`~sklearn.neural_network.MLPRegressor`.

    max_iter : 'auto' or int, default='auto'
        Maximum number of training iterations. An iteration is one epoch (a
        pass over the training rows) or, on data of fewer than 16
        mini-batches, as many epochs as make at least 16 Adam steps (8
        epochs of 150 rows at ``batch_size=128``): the held-out rows are
        scored, and the stopping rules and the step size's schedule applied,
        once an iteration. ``'auto'``: 200.

    batch_size : int, default=128
        Rows per minibatch (fewer if the data has fewer rows).

    learning_rate : float, default=5e-3
        Adam's initial step size. Each :meth:`fit` warms it up linearly over
        its first iteration (Goyal et al. 2017), then divides it by 5 each
        time two iterations in a row fail to improve the watched score (the
        held-out ELBO, or the training loss without early stopping) by
        ``tol``: :class:`~sklearn.neural_network.MLPRegressor`'s
        ``learning_rate='adaptive'`` schedule (torch's ``ReduceLROnPlateau``).
        :meth:`partial_fit` keeps it constant.

        The weights :meth:`fit` scores on the held-out rows and keeps are an
        exponential moving average of the weights after each Adam step, over
        about one iteration (Polyak & Juditsky 1992); each step trains on
        from the last weights. :meth:`partial_fit` keeps its last weights.

    early_stopping : 'auto' or bool, default='auto'
        True: hold out ``validation_fraction`` of the rows, stop when their
        ELBO (scored with each row's fixed noise) has not improved by ``tol``
        for ``n_iter_no_change`` iterations, and restore the best weights, the
        starting ones included. False: stop when the training loss has not
        improved by ``tol`` for ``n_iter_no_change`` iterations. ``'auto'``:
        True when ``validation_fraction`` of the rows (0.1 for ``'auto'``)
        makes at least 10, else False; and on at
        most 5000 rows, the model is then refitted on all of them for the
        number of iterations the held-out rows chose (0: the start, e.g. the
        factor analysis of all rows), at the step sizes that run took in
        them, as ``GridSearchCV`` refits its best candidate.
        With ``n_importance_samples`` > 1, the held-out score watched is the
        importance-weighted bound, the objective trained.

    validation_fraction : 'auto' or float, default='auto'
        Fraction of the rows held out for early stopping. They only score:
        the statistics the networks are built from (standardization, output
        map, variance floors) and the factor-analysis start are the training
        rows'. ``'auto'``: 0.2 when the model is then refitted on all the
        rows (``early_stopping='auto'`` on at most 5000 rows, not in a warm
        start), which costs it no training rows, else 0.1
        (``early_stopping='auto'`` holds rows out when 0.1 of them makes at
        least 10). Twice the held-out rows make
        the stopping point, and so a ``GridSearchCV`` candidate's score,
        move less with ``random_state``: on wine and diabetes, a seed-to-seed
        sd of the mean CV score of at most 0.10 nats instead of 0.16
        (``benchmarks/RESULTS_speed.md``).

    n_iter_no_change : 'auto' or int, default='auto'
        Iterations (see ``max_iter``) without improvement before training
        stops. ``'auto'``: 3 (with the step size divided by 5 after the
        second).

    tol : float, default=1e-4
        Smallest improvement, in nats per sample, that counts.

    kl_warmup : int, default=0
        Iterations (see ``max_iter``) over which the KL weight is ramped
        linearly from 0 to ``beta`` (Sonderby et al. 2016), against posterior
        collapse: iteration t of the net's life (counted over warm starts and
        partial fits) trains with
        ``beta * min(1, t / kl_warmup)``. The stopping rules start counting
        at the end of the warm-up. 0 disables it.

    free_bits : float, default=0.0
        Minimum KL, in nats, that each latent dimension is charged in the
        training loss (Kingma et al. 2016), against posterior collapse.

    n_importance_samples : int, default=1
        Draws of z per row in training. 1 trains on the ELBO; K > 1 on the
        importance-weighted bound of Burda et al. (2016), eq. 8 (IWAE; with
        missing values, MIWAE: Mattei & Frellsen 2019), which is tighter and
        costs about K times more per step. With ``beta`` != 1 the weights are
        ``p(x|z) [p(z) / q(z|x)]^beta``. Not with ``free_bits``.

    warm_start : bool, default=False
        If True, :meth:`fit` continues from the weights of the previous fit
        for up to ``max_iter`` more iterations (``n_iter_`` and ``loss_curve_``
        keep counting), with the training parameters set since (``beta``,
        ``learning_rate``, ``batch_size``...); the network's shape stays.
        With early stopping it keeps the best of the epochs it trains, never
        the weights it started from: those are the previous fit's result,
        and under a larger ``beta`` their held-out ELBO (which early stopping
        watches) would always win, so the fit would change nothing.

    encoder : torch.nn.Module instance or class, default=None
        A custom encoder network. Called on a float tensor of shape
        (batch, n_features), it must return ``(z_loc, z_logvar)``, each of shape
        (batch, n_components). An instance is deep-copied (it is never
        modified); a class is instantiated with ``encoder_kwargs`` plus
        ``n_features`` and ``n_components`` if its signature takes them, inside
        the seeded random state. None builds the default MLP encoder.

    encoder_kwargs : dict, default=None
        Keyword arguments for an ``encoder`` class.

    decoder : torch.nn.Module instance or class, default=None
        A custom decoder network: z of shape (batch, n_components) to the
        likelihood's parameters of shape (batch, n_features), the mean
        (Gaussian) or the logits (Bernoulli), in data units. Copied or built
        like ``encoder`` (``n_components`` and ``n_features`` passed when its
        signature takes them).

    decoder_kwargs : dict, default=None
        Keyword arguments for a ``decoder`` class.

    random_state : int, RandomState instance or None, default=None
        Seeds every random draw of fit (weight initialization, shuffling, the
        reparameterization noise, the validation split) and the fixed noise
        that :meth:`score_samples` uses. Torch's and numpy's global generators
        are never reseeded; None draws the seed from numpy's global generator,
        as every sklearn estimator does.

    verbose : int, default=0
        0: silent. 1: a progress bar over iterations (tqdm) with the loss,
        the reconstruction term and the KL. 2: a table of every iteration.

    device : str, default='cpu'
        Torch device for training and inference: ``'cpu'``, ``'cuda'``,
        ``'cuda:1'``..., or ``'auto'`` (``'cuda'`` when available). Outputs are
        always numpy arrays on the host.

    Attributes
    ----------
    net_ : skvae.VAENet
        The fitted training net. ``net_.module_`` is the torch
        :class:`~skvae.VAEModule`; ``net_.history`` holds per-iteration
        ``train_loss``, ``train_reconstruction``, ``train_kl`` and
        ``train_elbo`` (nats per sample), and their ``valid_`` counterparts
        with early stopping.

    n_iter_ : int
        Number of iterations trained (see ``max_iter``; over all warm-started
        fits and partial fits, each of which counts one). With the refit of
        ``early_stopping='auto'``, those of the run that chose their number,
        as ``loss_curve_`` and ``validation_scores_``; the refit trains the
        best of them again.

    loss_curve_ : list of float
        Training loss (beta-weighted negative ELBO, nats per sample) per
        iteration.

    validation_scores_ : list of float or None
        Held-out ELBO (nats per sample) per iteration with ``early_stopping``, else
        None. With ``n_importance_samples`` > 1, the held-out
        importance-weighted bound (16 draws per row) instead: the training
        objective, which early stopping then watches.

    best_validation_score_ : float or None
        Held-out score (as ``validation_scores_``) of the weights that early
        stopping restored (the best iteration after the KL warm-up), else None.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    sklearn.decomposition.FactorAnalysis : A VAE with a linear decoder and
        exact inference.
    sklearn.neural_network.BernoulliRBM : Another neural generative model.

    Notes
    -----
    The ELBO of one row x (Kingma & Welling 2013, eq. 10 and appendix B), in
    nats::

        ELBO(x) = E_q[log p_theta(x | z)] - KL(q_phi(z | x) || p(z))
        KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

    It is a lower bound on log p(x). The training loss of a minibatch is the
    mean over its rows of ``-E_q[log p(x|z)] + beta * KL`` with one sample of
    z per row. The user guide (*The model*, *Training controls*) describes
    the scores' per-row quasi-Monte Carlo draws, the float64 centring, the
    missing values (NaN: the likelihood counts observed entries only; MIWAE,
    Mattei & Frellsen 2019) and the default networks' linear path and
    factor-analysis start.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
    arXiv:1312.6114.

    D. J. Rezende, S. Mohamed and D. Wierstra, "Stochastic Backpropagation and
    Approximate Inference in Deep Generative Models", ICML 2014.

    I. Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a
    Constrained Variational Framework", ICLR 2017.

    Y. Burda, R. Grosse and R. Salakhutdinov, "Importance Weighted
    Autoencoders", ICLR 2016, arXiv:1509.00519.

    P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1
    Hour", 2017, arXiv:1706.02677 (the step size's linear warm-up).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> X = load_digits().data / 16
    >>> vae = VAETransformer(n_components=2, max_iter=5, random_state=0)
    >>> Z = vae.fit_transform(X)
    >>> Z.shape
    (1797, 2)
    >>> vae.inverse_transform(Z).shape
    (1797, 64)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints = VAE_PARAMETER_CONSTRAINTS

    def __init__(
        self,
        n_components=8,
        *,
        beta=1.0,
        likelihood="gaussian",
        near_constant_ratio=None,
        categorical_features="from_dtype",
        hidden_layer_sizes="auto",
        activation="relu",
        max_iter="auto",
        batch_size=128,
        learning_rate=5e-3,
        early_stopping="auto",
        validation_fraction="auto",
        n_iter_no_change="auto",
        tol=1e-4,
        kl_warmup=0,
        free_bits=0.0,
        n_importance_samples=1,
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

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to X by maximizing the ELBO.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, float32 or float64 (other numbers are converted to
            float64). Sparse matrices are densified one minibatch at a time.
            The values must lie in the likelihood's support ([0, 1] for
            ``likelihood='bernoulli'``).

        y : None
            Ignored.

        Returns
        -------
        self : VAETransformer
            The fitted estimator.

        Raises
        ------
        ValueError
            If X holds inf, has no rows or features, has values outside
            the likelihood's support, a table column that is neither numeric
            nor categorical (a date) or a categorical column with no observed
            value, if a custom network's outputs have the wrong shape, or if
            training diverges (the loss becomes non-finite). A previous fit is
            then left as it was.

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` iterations end before the stopping rule fires.
        UserWarning
            When a categorical column has more categories than half the rows
            (an identifier or free text, which the model can only memorize).
        """
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, fresh=not warm, method="fit")

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over X, continuing from the current weights.

        The first call builds the networks from X's statistics (the per-feature
        mean and variance that standardize the encoder's input, place the
        decoder's output and start the Gaussian variances and their floors),
        which later calls keep: make the first chunk representative, not a
        handful of rows. ``hidden_layer_sizes='auto'`` is sized by the first
        chunk's rows too ((64, 64) below 1000): set the widths for data much
        larger than a chunk. Use it for data that does not fit in memory: call it
        on one chunk of rows after another. Early stopping and the
        convergence check do not apply (as in
        :meth:`sklearn.neural_network.MLPRegressor.partial_fit`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training data.

        y : None
            Ignored.

        Returns
        -------
        self : VAETransformer
            The updated estimator.

        Raises
        ------
        ValueError
            As :meth:`fit`, and when X's width differs from the first call's.
        """
        fresh = not hasattr(self, "net_")
        return self._fit(X, fresh=fresh, method="partial_fit")

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Encode X as the posterior mean mu(x) of q_phi(z|x).

        Deterministic: the same row always gets the same code, whatever other
        rows share the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode. Any real values are accepted, whatever the
            likelihood.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means, in X's dtype (float32 or float64).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf or has the wrong number of features.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        module = self._inference_module(X.dtype)
        return self._map_rows(X, lambda x, _: module.encode(x)[0], 1)

    def inverse_transform(self, X):
        """Decode latent codes into the decoder's mean E[x|z].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            Decoder means (probabilities for the Bernoulli likelihood), in
            the codes' dtype (float32 or float64); rows of the training table
            for a model fitted on a DataFrame, as :meth:`sample` returns them.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If the codes are not 2-D of width ``n_components``, or not finite.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        return self._as_rows(self._decoded_means(Z))

    def sample(
        self,
        n_samples=1,
        random_state=None,
        *,
        decoder_noise=False,
        given=None,
        n_iw_samples=None,
    ):
        """Generate rows: z from the prior N(0, I), then through the decoder.

        With ``given``, rows whose columns ``given`` names hold the values it
        gives ("1,000 rows with income = >50K and sex = Female"), the others
        drawn from the model's conditional distribution given those values,
        by inference in the model (sampling importance resampling of z; see
        Notes), not by rejecting rows.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws of z (and of the decoder noise). None uses numpy's
            global generator, as :meth:`sklearn.neighbors.KernelDensity.sample`.

        decoder_noise : bool, default=False
            False returns the decoder means E[x|z]; True returns draws from
            each column's p(x|z) (Gaussian noise of the learned variance, 0/1
            draws for the Bernoulli likelihood, counts, categories).

        given : dict or None, default=None
            ``{column: value}``: the columns to fix and their values, the
            same in every row. Columns by name for a model fitted on a
            DataFrame (or by position), by index for one fitted on an array.
            A categorical column's value must be one of its categories seen
            in fit; a numeric column's, a finite number in its likelihood's
            support (an integer for an integer column of a table). None or
            ``{}``: unconditional rows.

        n_iw_samples : int or None, default=None
            Proposals of z drawn for ``given`` (M in Notes); the cost grows
            linearly with it. None: max(10,000, 20 * ``n_samples``).

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            Generated rows, float64. For a model fitted on a DataFrame with
            ``set_output(transform='pandas')`` (or ``'polars'``): a DataFrame
            with the training columns and dtypes, categorical columns as their
            categories (the drawn one, or the most probable with
            ``decoder_noise=False``), boolean columns True where the value
            (mean or draw) is at least 0.5, and integer columns rounded and
            clipped to their dtype's range; fitted on
            one with categorical columns, without ``set_output``: an object
            array of the same values. The columns of ``given`` hold its
            values exactly.

        Raises
        ------
        ValueError
            If ``n_samples`` or ``n_iw_samples`` is not a positive integer;
            if ``given`` names a column the model does not have (or one
            twice), gives a categorical column a value that is not one of
            its categories (the message names the column, the value and the
            categories), or a numeric column a value that is not a finite
            number in its likelihood's support (an integer for an integer
            column of a table).
        TypeError
            If ``given`` is not a dict.

        Warns
        -----
        UserWarning
            With ``given``, when the importance weights' effective sample
            size is below 100 and below ``n_samples``: the rows then share
            few codes (values improbable under the model, or many columns
            fixed); a larger ``n_iw_samples`` helps.

        Notes
        -----
        With ``given``, x_obs (the given values) fixes part of each row and
        the rest, x_mis, is drawn from p(x_mis | x_obs), as
        ``VAEImputer(sample_posterior=True)`` draws missing entries (MIWAE,
        Mattei & Frellsen 2019, section 4.2), by sampling importance
        resampling (Rubin 1987):

        1. M proposals z_s, half from the prior p(z), half from the encoder's
           q(z | x_obs) (the other columns at their training mean), weighted
           ``w_s = p(x_obs | z_s) p(z_s) / g(z_s)`` with ``g`` the mixture of
           the two (a defensive mixture, Hesterberg 1995: an encoder trained
           on complete rows may be a poor proposal given a few columns, and
           the prior's share bounds the weights);
        2. ``n_samples`` codes resampled from the z_s with replacement, with
           probabilities ``w_s / sum_t w_t``: as M grows they follow
           p(z | x_obs);
        3. each row decoded as above (the mean, or a draw of p(x | z) with
           ``decoder_noise=True``), then its given columns set to their
           values.

        The rows are independent given the M proposals; with
        ``decoder_noise=False`` rows that resampled the same z_s are equal.
        The cost is M + ``n_samples`` decoder passes.

        Synthetic rows are not anonymous: a flexible model can reproduce rows
        it was trained on (it memorizes them), the more so the fewer the rows
        and the longer it trains. Check generated rows against the training
        ones before sharing them.

        References
        ----------
        D. B. Rubin, "Comment: A noniterative sampling/importance resampling
        alternative to the data augmentation algorithm for creating a few
        imputations when fractions of missing information are modest: the SIR
        algorithm", Journal of the American Statistical Association 82 (398),
        1987.

        P.-A. Mattei and J. Frellsen, "MIWAE: Deep Generative Modelling and
        Imputation of Incomplete Data Sets", ICML 2019, arXiv:1812.02633.

        T. Hesterberg, "Weighted average importance sampling and defensive
        mixture distributions", Technometrics 37, 1995.

        Examples
        --------
        >>> import pandas as pd
        >>> from skvae import VAETransformer
        >>> table = pd.DataFrame({
        ...     "size": [1.0, 2.0, 3.0, 4.0] * 10,
        ...     "kind": pd.Categorical(["a", "a", "b", "b"] * 10),
        ... })
        >>> vae = VAETransformer(max_iter=2, random_state=0).fit(table)
        >>> vae.set_output(transform="pandas")
        VAETransformer(max_iter=2, random_state=0)
        >>> rows = vae.sample(5, random_state=0, given={"kind": "b"})
        >>> rows.shape, list(rows["kind"].unique())
        ((5, 2), ['b'])
        """
        check_is_fitted(self)
        check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        if given is not None:
            row = self._condition_row(given)
            if not len(given):
                given = None
        if given is None:
            Z = rng.standard_normal((n_samples, self.n_components))
            if not decoder_noise:
                return self.inverse_transform(Z)
            return self._as_rows(self._decoded_draws(Z, rng))
        if n_iw_samples is None:
            n_iw_samples = max(
                CONDITIONAL_MIN_PROPOSALS, CONDITIONAL_PROPOSALS_PER_ROW * n_samples
            )
        check_positive_int(n_iw_samples, "n_iw_samples")
        Z, ess = self._conditional_codes(row, n_samples, n_iw_samples, rng)
        if ess < CONDITIONAL_MIN_ESS and ess < n_samples:
            warnings.warn(
                f"sample(given=...): the importance weights are concentrated "
                f"(effective sample size {ess:.1f} of {n_iw_samples} proposals), "
                f"so the {n_samples} rows share few codes z. The values given are "
                "improbable under the model, or many columns are fixed; a larger "
                "n_iw_samples helps.",
                UserWarning,
                stacklevel=2,
            )
        if decoder_noise:
            X_model = self._decoded_draws(Z, rng)
        else:
            X_model = self._decoded_means(Z)
        fixed = ~np.isnan(row)
        X_model[:, fixed] = row[fixed]
        return self._as_rows(X_model)

    def _decoded_means(self, Z):
        """E[x | z] of each code, data units (the model's columns), Z's dtype."""
        module = self._inference_module(Z.dtype)
        X_model = self._map_rows(
            Z,
            lambda z, _: module.likelihood.mean(module.decode(z)),
            self._model_width,
            centred=False,
        )
        return self._uncentred(X_model, Z.dtype)

    def _decoded_draws(self, Z, rng):
        """A draw of p(x | z) for each code (torch seeded from ``rng``)."""
        module = self._inference_module(Z.dtype)
        generator = torch.Generator(device=self.net_.device)
        generator.manual_seed(draw_seed(rng))
        X_model = self._map_rows(
            Z,
            lambda z, _: module.likelihood.sample(module.decode(z), generator),
            self._model_width,
            centred=False,
        )
        return self._uncentred(X_model, Z.dtype)

    def score_samples(self, X):
        """ELBO of each row, a lower bound on log p(x), in nats.

        ``ELBO(x) = E_q[log p_theta(x|z)] - KL(q_phi(z|x) || p(z))`` (AEVB eq.
        10), whatever ``beta`` the model was trained with. The expectation is a
        Monte Carlo average over 16 draws of z per row; the KL is in closed
        form (appendix B). Each row's draws are its own, derived from the
        row's values and the model's seed (randomized quasi-Monte Carlo, see
        the class Notes), so the result is deterministic, independent of the other rows
        in the call, and the Monte Carlo error of ``score`` shrinks as
        1/sqrt(n_samples). Missing entries (NaN) are left out: the ELBO of the
        observed entries, a bound on log p(x_obs). See
        :meth:`score_samples_iw` for a tighter bound.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score. Values outside an interval support (e.g. [0, 1]
            for the Bernoulli likelihood) are clipped into it, with a warning.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ELBO per row, nats, in X's dtype. Higher is better.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds inf or has the wrong number of features.

        Warns
        -----
        UserWarning
            When values of X outside the likelihood's support were clipped.
        """
        log_px, kl = self.elbo_terms(X)
        return log_px - kl

    def elbo_terms(self, X):
        """The ELBO's two terms for each row: reconstruction and KL, in nats.

        ``score_samples(X) == log_px - kl``, with (AEVB eq. 10, appendix B)::

            log_px = E_q[log p_theta(x | z)]    (Monte Carlo, as score_samples)
            kl = KL(q_phi(z | x) || p(z))       (closed form)

        Their means over rows are the "distortion" (negated) and the "rate"
        of a rate/distortion view of beta (A. Alemi et al., "Fixing a Broken
        ELBO", ICML 2018).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score, as in :meth:`score_samples`.

        Returns
        -------
        log_px : ndarray of shape (n_samples,)
            Expected log-likelihood of each row under its posterior, nats.
        kl : ndarray of shape (n_samples,)
            KL divergence of each row's posterior from the prior, nats (>= 0).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            As :meth:`score_samples`.
        """
        check_is_fitted(self)
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        noise = self._row_noise(N_ELBO_SAMPLES)

        def terms(x, rows):
            eps = torch.as_tensor(noise(rows), dtype=x.dtype, device=x.device)
            return module.elbo(x, eps)

        width = N_ELBO_SAMPLES * (self._model_width + self.n_components)
        return self._map_rows(X, terms, width)

    def score(self, X, y=None):
        """Mean ELBO of the rows of X, in nats per sample (higher is better).

        The default scorer of :class:`~sklearn.model_selection.GridSearchCV`
        when no ``scoring`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        y : None
            Ignored.

        Returns
        -------
        score : float
            ``score_samples(X).mean()``.
        """
        return float(np.mean(self.score_samples(X)))

    def _posterior_draws(self, X, n_samples, seed=None):
        """Each row's own S draws of z from q(z|x) and their weight terms.

        Rows validated as :meth:`score_samples` does; the draws are those of
        :meth:`_row_noise` (``seed`` None: the ELBO's). Returns ``log_px``
        and ``log_q`` of shape (n_samples, S), ``z`` of shape (n_samples, S,
        n_components) and the entropy of q(z|x), (n_samples,), in X's dtype
        (:meth:`VAEModule.posterior_draws`).
        """
        check_is_fitted(self)
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        noise = self._row_noise(n_samples, seed=seed)
        k = self.n_components

        def draws(x, rows):
            eps = torch.as_tensor(noise(rows), dtype=x.dtype, device=x.device)
            log_px, log_q, z, entropy = module.posterior_draws(x, eps)
            z = z.permute(1, 0, 2).reshape(len(x), n_samples * k)
            return torch.cat([log_px.T, log_q.T, z, entropy[:, None]], dim=1)

        width = n_samples * (self._model_width + 2 * k + 2)
        out = self._map_rows(X, draws, width)
        S = n_samples
        z = out[:, 2 * S : 2 * S + S * k].reshape(len(out), S, k)
        return out[:, :S], out[:, S : 2 * S], z, out[:, -1]

    def score_samples_iw(self, X, n_importance_samples=100, random_state=0):
        """Importance-weighted estimate of log p(x) per row, in nats.

        Burda et al. (2016), eq. 8, with K = ``n_importance_samples`` draws
        ``z_k ~ q_phi(z|x)``::

            log p(x) ~ log (1/K) sum_k p_theta(x | z_k) p(z_k) / q_phi(z_k | x)

        K = 1 is a one-sample ELBO estimate (with a sampled, not closed-form,
        KL, so it differs from :meth:`score_samples`); the estimate is a lower
        bound in expectation that tightens as K grows. It is the number to
        compare with :meth:`sklearn.decomposition.FactorAnalysis.score_samples`
        or published log-likelihoods. Each row's K draws are its own, derived
        from its values and ``random_state``, as in :meth:`score_samples`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score (clipped into an interval support, with a warning).

        n_importance_samples : int, default=100
            K. Cost grows linearly with it.

        random_state : int, RandomState instance or None, default=0
            Seeds the draws (with each row's values).

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Estimated log p(x) per row, nats, in X's dtype.

        Raises
        ------
        ValueError
            If ``n_importance_samples`` is not a positive integer, or as
            :meth:`score_samples`.
        """
        check_is_fitted(self)
        check_positive_int(n_importance_samples, "n_importance_samples")
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        noise = self._row_noise(n_importance_samples, seed=draw_seed(random_state))

        def log_likelihood(x, rows):
            eps = torch.as_tensor(noise(rows), dtype=x.dtype, device=x.device)
            return module.iw_log_likelihood(x, eps)

        width = n_importance_samples * (self._model_width + self.n_components)
        return self._map_rows(X, log_likelihood, width)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        return tags

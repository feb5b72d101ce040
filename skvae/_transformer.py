"""VAETransformer: the Variational Autoencoder as a scikit-learn transformer."""

import copy
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import logit
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils.sparsefuncs import mean_variance_axis
from skorch.callbacks import PassthroughScoring
from skorch.dataset import ValidSplit
from skorch.history import History
from skorch.utils import noop

from skvae._likelihoods import BernoulliHead, GaussianHead, gaussian_kl
from skvae._modules import ACTIVATIONS, Decoder, Encoder, VAEModule
from skvae._net import (
    BatchIterator,
    DivergenceError,
    EpochProgressBar,
    RowDataset,
    VAENet,
    WarmupEarlyStopping,
)
from skvae._validation import (
    FLOAT_DTYPES,
    SPARSE_FORMATS,
    Interval,
    StrOptions,
    _fit_context,
    as_tensor,
    check_is_fitted,
    check_random_state,
    check_unit_interval,
    clip_unit_interval,
    draw_seed,
    limited_torch_threads,
    resolve_device,
    validate_data,
)

# Number of eps vectors, drawn once at fit, shared by every row of score_samples.
N_ELBO_SAMPLES = 16
# Upper bound on the elements of one inference batch (rows x samples x features).
INFERENCE_BATCH_ELEMENTS = 2**20
# Tag of the files written by VAETransformer.save_weights.
WEIGHTS_FORMAT = "skvae.weights/1"


class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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
    ``z = mu + sigma * eps, eps ~ N(0, I)``, through a skorch ``NeuralNet``
    stored as ``net_``.

    Parameters
    ----------
    n_components : int, default=2
        Number of latent dimensions (width of ``z``).

    beta : float, default=1.0
        Weight of the KL term in the training loss (beta-VAE, Higgins et al.
        2017). ``beta=1`` is the plain VAE; ``beta > 1`` favours compressed,
        disentangled codes; ``beta < 1`` favours reconstructions. Scores are
        always the plain ELBO (beta = 1), so models of any beta compare.

    likelihood : {'gaussian', 'bernoulli'}, default='gaussian'
        Observation model p(x|z). ``'gaussian'`` (AEVB appendix C.2): the
        decoder gives the mean, and each feature has one learned variance
        (as ``FactorAnalysis.noise_variance_``), started at its training
        variance and bounded below by 1e-3 times it, so the likelihood stays
        bounded (constant features count as having 1e-3 times the mean
        variance). ``'bernoulli'`` (appendix C.1): the
        decoder gives logits; X must lie in [0, 1].

    hidden_layer_sizes : array-like of int, default=(256, 256)
        Widths of the encoder's hidden layers; the decoder mirrors them. The
        default is the network FINDINGS measured best on digits (no gain from
        (128, 128) or tanh).

    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden-layer activation, as in :class:`~sklearn.neural_network.MLPRegressor`.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data). On digits
        the held-out ELBO peaks at about 150-250 epochs.

    batch_size : int, default=128
        Rows per minibatch (fewer if the data has fewer rows).

    learning_rate : float, default=1e-3
        Adam's step size.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when their ELBO has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore
        the best weights. Without it, training stops when the training loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs. Off by
        default, as in MLPRegressor (it needs enough rows to hold some out),
        but recommended on real data: on digits it reached a held-out ELBO
        as good or better (+3.4 nats at 2 latents, within 1.4 nats at 10 and
        20) in 100-190 epochs instead of 200 (``benchmarks/RESULTS.md``).

    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping.

    n_iter_no_change : int, default=10
        Epochs without improvement before training stops.

    tol : float, default=1e-4
        Smallest improvement, in nats per sample, that counts.

    kl_warmup : int, default=0
        Epochs over which the KL weight is ramped linearly from 0 to ``beta``
        (Sonderby et al. 2016), against posterior collapse: epoch t of the
        net's life (counted over warm starts and partial fits) trains with
        ``beta * min(1, t / kl_warmup)``. The stopping rules start counting
        at the end of the warm-up. 0 disables it.

    free_bits : float, default=0.0
        Minimum KL, in nats, that each latent dimension is charged in the
        training loss (Kingma et al. 2016), against posterior collapse.

    warm_start : bool, default=False
        If True, :meth:`fit` continues from the weights of the previous fit
        for up to ``max_iter`` more epochs (``n_iter_`` and ``loss_curve_``
        keep counting), with the training parameters set since (``beta``,
        ``learning_rate``, ``batch_size``...); the network's shape stays.

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
        likelihood's location parameter of shape (batch, n_features), the mean
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
        0: silent. 1: a progress bar over epochs (tqdm) with the loss, the
        reconstruction term and the KL. 2: skorch's table of every epoch.

    device : str, default='cpu'
        Torch device for training and inference: ``'cpu'``, ``'cuda'``,
        ``'cuda:1'``..., or ``'auto'`` (``'cuda'`` when available). Outputs are
        always numpy arrays on the host.

    Attributes
    ----------
    net_ : skvae.VAENet
        The fitted skorch net. ``net_.module_`` is the torch
        :class:`~skvae.VAEModule`; ``net_.history`` holds per-epoch
        ``train_loss``, ``train_reconstruction``, ``train_kl`` and
        ``train_elbo`` (nats per sample), and their ``valid_`` counterparts
        with early stopping.

    n_iter_ : int
        Number of epochs trained (over all warm-started fits and partial fits).

    loss_curve_ : list of float
        Training loss (beta-weighted negative ELBO, nats per sample) per epoch.

    validation_scores_ : list of float or None
        Held-out ELBO (nats per sample) per epoch with ``early_stopping``, else
        None.

    best_validation_score_ : float or None
        Held-out ELBO of the weights that early stopping restored (the best
        epoch after the KL warm-up), else None.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X has string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    sklearn.decomposition.FactorAnalysis : Linear-Gaussian latent variable
        model: a VAE with linear decoder and exact inference.
    sklearn.neural_network.BernoulliRBM : Another neural generative model.

    Notes
    -----
    The ELBO of one row x (Kingma & Welling 2013, eq. 10 and appendix B), in
    nats::

        ELBO(x) = E_q[log p_theta(x | z)] - KL(q_phi(z | x) || p(z))
        KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)

    It is a lower bound on log p(x). The training loss of a minibatch is the
    mean over its rows of ``-E_q[log p(x|z)] + beta * KL`` with one sample of
    z per row. Computation is in float32 during training; inference runs in
    the dtype of its input (float64 input gives float64 results, exactly
    independent of the other rows in the call).

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

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "free_bits": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "encoder": [None, callable],
        "encoder_kwargs": [None, dict],
        "decoder": [None, callable],
        "decoder_kwargs": [None, dict],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str],
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
        likelihood="gaussian",
        hidden_layer_sizes=(256, 256),
        activation="relu",
        max_iter=200,
        batch_size=128,
        learning_rate=1e-3,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        kl_warmup=0,
        free_bits=0.0,
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
            With ``likelihood='bernoulli'``, values must lie in [0, 1].

        y : None
            Ignored.

        Returns
        -------
        self : VAETransformer
            The fitted estimator.

        Raises
        ------
        ValueError
            If X holds NaN or inf, has no rows or features, is outside [0, 1]
            for the Bernoulli likelihood, if a custom network's outputs have
            the wrong shape, or if training diverges (the loss becomes
            non-finite). A previous fit is then left as it was.

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs end before the stopping rule fires.
        """
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, epochs=self.max_iter, fresh=not warm, method="fit")

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over X, continuing from the current weights.

        The first call builds the networks from X's statistics (the per-feature
        mean and variance that standardize the encoder's input, place the
        decoder's output and start the Gaussian variances and their floors),
        which later calls keep: make the first chunk representative, not a
        handful of rows. Use it for data that does not fit in memory: call it
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
        return self._fit(X, epochs=1, fresh=fresh, method="partial_fit")

    def _fit(self, X, *, epochs, fresh, method):
        """Validate, build or reuse the net, train; on any error, undo everything."""
        before = dict(vars(self))
        if "_rng" in before:
            before["_rng"] = copy.deepcopy(self._rng)
        snapshot = None
        epochs_before = len(self.net_.history) if not fresh else 0
        try:
            X = self._validate_input(X, reset=fresh)
            if self.likelihood == "bernoulli":
                check_unit_interval(X, method=method)
            if fresh:
                self._rng = check_random_state(draw_seed(self.random_state))
                self._elbo_eps = self._rng.standard_normal(
                    (N_ELBO_SAMPLES, self.n_components)
                )
                net = self._build_net(X, seed=self._rng.randint(2**31 - 1))
            else:
                self._check_architecture_unchanged(method)
                net = self.net_
                snapshot = (
                    copy.deepcopy(net.module_.state_dict()),
                    copy.deepcopy(net.optimizer_.state_dict()),
                    len(net.history),
                )
            stopped = self._train(net, X, epochs, method == "fit")
        except BaseException as exc:  # Ctrl-C outside skorch's loop too
            if snapshot is not None:
                net.module_.load_state_dict(snapshot[0])
                net.optimizer_.load_state_dict(snapshot[1])
                del net.history[snapshot[2] :]
            vars(self).clear()
            vars(self).update(before)
            if isinstance(exc, DivergenceError):
                raise ValueError(
                    f"Training diverged: {exc}. Try a smaller learning_rate (now "
                    f"{self.learning_rate}), standardizing X (e.g. StandardScaler), "
                    "or a larger batch_size."
                ) from None
            raise
        self.net_ = net
        self._n_features_out = self.n_components
        for _, callback in net.callbacks_:
            # skorch's EarlyStopping keeps its copy of the best weights after
            # restoring them: twice the model's memory in every pickle, and
            # device tensors that skorch's CUDA-to-CPU remapping does not see.
            if getattr(callback, "best_model_weights_", None) is not None:
                callback.best_model_weights_ = None
        history = net.history
        if len(history) and "train_loss" not in history[-1]:
            # An epoch cut short by KeyboardInterrupt (skorch stops and keeps
            # the weights): count and record only the epochs that finished.
            history.pop()
        self.n_iter_ = len(history)
        self.loss_curve_ = list(history[:, "train_loss"])
        if self.early_stopping and method == "fit":
            self.validation_scores_ = list(history[:, "valid_elbo"])
            # The score of the weights early stopping restored (warm-up excluded).
            best_epoch = dict(net.callbacks_)["stop"].best_epoch_
            self.best_validation_score_ = (
                history[best_epoch - 1, "valid_elbo"]
                if best_epoch
                else self.validation_scores_[-1]  # all in warm-up: nothing restored
            )
        elif fresh:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if method == "fit" and not stopped and len(history) - epochs_before >= epochs:
            warnings.warn(
                f"VAETransformer trained max_iter={self.max_iter} epochs and the "
                f"{'held-out ELBO' if self.early_stopping else 'training loss'} "
                f"was still improving by more than tol={self.tol}. Increase "
                "max_iter"
                f"{'' if self.early_stopping else ', or set early_stopping=True'}.",
                ConvergenceWarning,
            )
        return self

    def _architecture(self):
        """The parameters that fix the networks' shapes."""
        return {
            "n_components": self.n_components,
            "likelihood": self.likelihood,
            "hidden_layer_sizes": self._hidden_layer_sizes(),
            "activation": self.activation,
        }

    def _hidden_layer_sizes(self):
        """``hidden_layer_sizes`` as a tuple of ints (an int is one layer), as MLP."""
        sizes = np.atleast_1d(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not all(isinstance(h, Integral) and h > 0 for h in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a sequence of "
                f"positive ints, got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in sizes)

    def _check_architecture_unchanged(self, method):
        """ValueError if set_params changed the networks' shape since building."""
        changed = [
            f"{name} from {before!r} to {now!r}"
            for (name, before), now in zip(
                self._built_architecture.items(), self._architecture().values()
            )
            if before != now
        ]
        if changed:
            how = (
                "partial_fit" if method == "partial_fit" else "fit with warm_start=True"
            )
            raise ValueError(
                f"{how} continues training the fitted networks, but "
                f"{', '.join(changed)} since they were built. Fit anew (warm_start="
                "False) to change the architecture."
            )

    def _validate_input(self, X, *, reset):
        X = validate_data(
            self, X, reset=reset, dtype=FLOAT_DTYPES, accept_sparse=SPARSE_FORMATS
        )
        return X.tocsr() if sp.issparse(X) else X

    def _build_net(self, X, seed):
        n_features = X.shape[1]
        if sp.issparse(X):
            x_mean, x_var = mean_variance_axis(X, axis=0)
        else:
            x_mean = X.mean(axis=0, dtype=np.float64)
            x_var = X.var(axis=0, dtype=np.float64)
        # Constant or near-constant features get a scale of sqrt(1e-3) times the
        # typical one, so standardization never divides by ~0 and a Gaussian
        # decoder's variance starts small there (its floor is 1e-3 below that).
        typical = x_var.mean() if x_var.mean() > 0 else 1.0
        x_scale = np.sqrt(np.maximum(x_var, 1e-3 * typical))
        sizes = {"n_features": n_features, "n_components": self.n_components}
        hidden = self._hidden_layer_sizes()
        if self.likelihood == "gaussian":
            likelihood = GaussianHead(init_variance=x_scale**2)
            out_loc, out_scale = x_mean, x_scale
        else:
            likelihood = BernoulliHead()
            out_loc, out_scale = logit(np.clip(x_mean, 1e-4, 1 - 1e-4)), None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = _make_network(
                self.encoder,
                self.encoder_kwargs,
                sizes,
                "encoder",
                lambda: Encoder(
                    n_features,
                    self.n_components,
                    hidden,
                    self.activation,
                    x_loc=x_mean,
                    x_scale=x_scale,
                ),
            )
            decoder = _make_network(
                self.decoder,
                self.decoder_kwargs,
                sizes,
                "decoder",
                lambda: Decoder(
                    self.n_components,
                    n_features,
                    hidden[::-1],
                    self.activation,
                    out_loc=out_loc,
                    out_scale=out_scale,
                ),
            )
            _check_network_shapes(encoder, decoder, X[:2], sizes)
        self._built_architecture = self._architecture()
        return VAENet(
            VAEModule(encoder, decoder, likelihood),
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            free_bits=self.free_bits,
            optimizer=torch.optim.Adam,
            lr=self.learning_rate,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=BatchIterator,
            dataset=RowDataset,
            train_split=None,
            verbose=int(self.verbose >= 2),
            device=resolve_device(self.device),
        )

    def _train(self, net, X, epochs, is_fit):
        """Run skorch's loop for ``epochs``; True if the stopping rule fired."""
        seed = self._rng.randint(2**31 - 1)
        early = self.early_stopping and is_fit
        net.train_split = (
            ValidSplit(self.validation_fraction, random_state=seed) if early else None
        )
        stopper = WarmupEarlyStopping(
            monitor="valid_elbo" if early else "train_loss",
            lower_is_better=not early,
            patience=self.n_iter_no_change,
            threshold=self.tol,
            threshold_mode="abs",
            load_best=early,
            sink=noop,
        )
        names = ["reconstruction", "kl", "elbo"]
        callbacks = [
            (f"train_{n}", PassthroughScoring(name=f"train_{n}", on_train=True))
            for n in names
        ]
        if early:
            callbacks += [
                (f"valid_{n}", PassthroughScoring(name=f"valid_{n}")) for n in names
            ]
        callbacks.append(("stop", stopper))
        if self.verbose == 1:
            callbacks.append(("progress", EpochProgressBar(total=epochs)))
        net.callbacks = callbacks
        self._sync_net(net)
        if sp.issparse(X):
            data = X.astype(np.float32)
        else:
            data = as_tensor(X, np.float32)
        devices = [torch.device(net.device)] if "cuda" in str(net.device) else []
        with limited_torch_threads(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if net.initialized_:
                net.initialize_callbacks()
            else:
                net.initialize()
            net.partial_fit(RowDataset(data, device=net.device), epochs=epochs)
        return stopper.misses_ >= stopper.patience

    def _sync_net(self, net):
        """Pass the training hyperparameters to a net built by an earlier fit.

        A warm-started ``fit`` or a ``partial_fit`` honours ``set_params`` made
        since (e.g. a larger ``beta`` or a smaller ``learning_rate``), as
        MLPRegressor does; Adam's moment estimates are kept.
        """
        net.beta, net.kl_warmup, net.free_bits = (
            self.beta,
            self.kl_warmup,
            self.free_bits,
        )
        net.batch_size, net.max_epochs = self.batch_size, self.max_iter
        net.verbose = int(self.verbose >= 2)
        net.lr = self.learning_rate
        if net.initialized_:
            for group in net.optimizer_.param_groups:
                group["lr"] = self.learning_rate

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Encode X as the posterior mean mu(x) of q_phi(z|x).

        Deterministic: the same row always gets the same code, whatever other
        rows share the call.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode. Any real values are accepted, also for the
            Bernoulli likelihood.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
            Posterior means, in X's dtype (float32 or float64).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds NaN or inf or has the wrong number of features.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        module = self._inference_module(X.dtype)
        return self._map_rows(X, lambda x: module.encode(x)[0], 1)

    def inverse_transform(self, X):
        """Decode latent codes into the decoder's mean E[x|z].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Decoder means (probabilities for the Bernoulli likelihood), in
            the codes' dtype (float32 or float64).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If the codes are not 2-D of width ``n_components``, or not finite.
        """
        check_is_fitted(self)
        Z = self._validate_codes(X)
        module = self._inference_module(Z.dtype)
        return self._map_rows(
            Z, lambda z: module.likelihood.mean(module.decode(z)), self.n_features_in_
        )

    def sample(self, n_samples=1, random_state=None, *, decoder_noise=False):
        """Generate rows: z from the prior N(0, I), then through the decoder.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws of z (and of the decoder noise). None uses numpy's
            global generator, as :meth:`sklearn.neighbors.KernelDensity.sample`.

        decoder_noise : bool, default=False
            False returns the decoder means E[x|z]; True returns draws from
            p(x|z) (Gaussian noise of the learned variance, or 0/1 draws for
            the Bernoulli likelihood).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Generated rows, float64.

        Raises
        ------
        ValueError
            If ``n_samples`` is not a positive integer.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.n_components))
        if not decoder_noise:
            return self.inverse_transform(Z)
        module = self._inference_module(Z.dtype)
        generator = torch.Generator(device=self.net_.device)
        generator.manual_seed(draw_seed(rng))
        return self._map_rows(
            Z,
            lambda z: module.likelihood.sample(module.decode(z), generator),
            self.n_features_in_,
        )

    def score_samples(self, X):
        """ELBO of each row, a lower bound on log p(x), in nats.

        ``ELBO(x) = E_q[log p_theta(x|z)] - KL(q_phi(z|x) || p(z))`` (AEVB eq.
        10), whatever ``beta`` the model was trained with. The expectation is a
        Monte Carlo average over 16 fixed noise vectors drawn at fit from
        ``random_state`` and shared by all rows, so the result is deterministic
        and independent of the other rows in the call; the KL is in closed
        form (appendix B). See :meth:`score_samples_iw` for a tighter bound.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score. For the Bernoulli likelihood, values outside [0, 1]
            are clipped into it, with a warning.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ELBO per row, nats, in X's dtype. Higher is better.

        Warns
        -----
        UserWarning
            For the Bernoulli likelihood, when values of X outside [0, 1] were
            clipped into it.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            If X holds NaN or inf or has the wrong number of features.
        """
        check_is_fitted(self)
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        eps = torch.as_tensor(
            self._elbo_eps, dtype=module_dtype(module), device=self.net_.device
        )

        def elbo(x):
            z_loc, z_logvar = module.encode(x)
            log_px = _log_px(module, x, z_loc, z_logvar, eps)
            return log_px.mean(dim=0) - gaussian_kl(z_loc, z_logvar)

        return self._map_rows(X, elbo, N_ELBO_SAMPLES * self.n_features_in_)

    def _elbo_terms(self, X):
        """The two terms of :meth:`score_samples`: ``(log_px, kl)`` per row, nats.

        ``log_px`` is the Monte Carlo mean of log p_theta(x|z) over the same
        fixed noise draws as :meth:`score_samples`, ``kl`` the closed-form
        KL(q_phi(z|x) || p(z)); ``score_samples(X) == log_px - kl``. Each is an
        ndarray of shape (n_samples,) in X's dtype.
        """
        check_is_fitted(self)
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        eps = torch.as_tensor(
            self._elbo_eps, dtype=module_dtype(module), device=self.net_.device
        )

        def terms(x):
            z_loc, z_logvar = module.encode(x)
            log_px = _log_px(module, x, z_loc, z_logvar, eps).mean(dim=0)
            return torch.stack([log_px, gaussian_kl(z_loc, z_logvar)], dim=1)

        out = self._map_rows(X, terms, N_ELBO_SAMPLES * self.n_features_in_)
        return out[:, 0].copy(), out[:, 1].copy()

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

    def score_samples_iw(self, X, n_importance_samples=100, random_state=0):
        """Importance-weighted estimate of log p(x) per row, in nats.

        Burda et al. (2016), eq. 8, with K = ``n_importance_samples`` draws
        ``z_k ~ q_phi(z|x)``::

            log p(x) ~ log (1/K) sum_k p_theta(x | z_k) p(z_k) / q_phi(z_k | x)

        K = 1 is a one-sample ELBO estimate (with a sampled, not closed-form,
        KL, so it differs from :meth:`score_samples`); the estimate is a lower
        bound in expectation that tightens as K grows. It is the number to compare with
        :meth:`sklearn.decomposition.FactorAnalysis.score_samples` or published
        log-likelihoods. The K noise vectors are shared by all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score (Bernoulli: clipped into [0, 1], with a warning).

        n_importance_samples : int, default=100
            K. Cost grows linearly with it.

        random_state : int, RandomState instance or None, default=0
            Seeds the K noise vectors.

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
        if not isinstance(n_importance_samples, Integral) or n_importance_samples < 1:
            raise ValueError(
                "n_importance_samples must be a positive integer, got "
                f"{n_importance_samples!r}."
            )
        X = self._validate_scored(X)
        module = self._inference_module(X.dtype)
        eps_all = torch.as_tensor(
            check_random_state(random_state).standard_normal(
                (n_importance_samples, self.n_components)
            ),
            dtype=module_dtype(module),
            device=self.net_.device,
        )
        chunk = N_ELBO_SAMPLES

        def log_likelihood(x):
            z_loc, z_logvar = module.encode(x)
            log_w = []
            for start in range(0, n_importance_samples, chunk):
                eps = eps_all[start : start + chunk]
                log_px = _log_px(module, x, z_loc, z_logvar, eps)
                # log p(z) - log q(z|x), with z = z_loc + sigma * eps
                log_pz_over_qz = 0.5 * (
                    eps.pow(2)[:, None, :]
                    - (z_loc + torch.exp(0.5 * z_logvar) * eps[:, None, :]).pow(2)
                    + z_logvar
                ).sum(dim=-1)
                log_w.append(log_px + log_pz_over_qz)
            log_w = torch.cat(log_w)
            return torch.logsumexp(log_w, dim=0) - np.log(n_importance_samples)

        return self._map_rows(X, log_likelihood, chunk * self.n_features_in_)

    # ---------------------------------------------------------- persistence

    def save_weights(self, path):
        """Save the fitted model as tensors and plain values: no pickled code.

        The file holds the constructor parameters, the fitted attributes and
        the network's ``state_dict`` (on the CPU), written with
        :func:`torch.save`. :meth:`load_weights` reads it back with
        ``torch.load(weights_only=True)``, which refuses anything but tensors
        and plain containers, so a file from an untrusted source cannot run
        code (a pickle, and so ``joblib.load``, can). Custom ``encoder`` or
        ``decoder`` networks are code: they are not saved, and must be passed
        again to :meth:`load_weights`. Adam's moment estimates and skorch's
        per-batch history are not saved either: a warm start after loading starts a
        fresh optimizer.

        Parameters
        ----------
        path : str or path-like or file-like
            Where to write; the usual suffix is ``.pt``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        custom = [name for name in ("encoder", "decoder") if params[name] is not None]
        for name in custom:
            params[name] = params[f"{name}_kwargs"] = None
        params["hidden_layer_sizes"] = list(self._hidden_layer_sizes())
        if not isinstance(params["random_state"], (Integral, type(None))):
            params["random_state"] = None  # a RandomState instance is not data
        names = getattr(self, "feature_names_in_", None)
        _, keys, pos, has_gauss, cached = self._rng.get_state()
        state = {
            "format": WEIGHTS_FORMAT,
            "params": params,
            "custom_networks": custom,
            "n_features_in": int(self.n_features_in_),
            "feature_names_in": None if names is None else [str(n) for n in names],
            "n_iter": int(self.n_iter_),
            "history": [
                {k: _plain(v) for k, v in row.items() if k != "batches"}
                for row in self.net_.history
            ],
            "loss_curve": [float(v) for v in self.loss_curve_],
            "validation_scores": (
                None
                if self.validation_scores_ is None
                else [float(v) for v in self.validation_scores_]
            ),
            "best_validation_score": (
                None
                if self.best_validation_score_ is None
                else float(self.best_validation_score_)
            ),
            "elbo_eps": torch.as_tensor(self._elbo_eps),
            "rng_state": [
                torch.as_tensor(keys.astype(np.int64)),
                int(pos),
                int(has_gauss),
                float(cached),
            ],
            "module_state": {
                k: v.detach().cpu() for k, v in self.net_.module_.state_dict().items()
            },
        }
        torch.save(state, path)

    @classmethod
    def load_weights(cls, path, **params):
        """Rebuild a fitted VAETransformer from :meth:`save_weights`' file.

        Reads with ``torch.load(weights_only=True)`` onto the CPU: only
        tensors and plain values are accepted, no code runs. The result gives
        the same ``transform``, ``score_samples`` and ``sample`` as the saved
        model.

        Parameters
        ----------
        path : str or path-like or file-like
            A file written by :meth:`save_weights`.

        **params : dict
            Constructor parameters that replace the saved ones: the
            ``encoder`` and ``decoder`` (and their ``_kwargs``) of a model
            fitted with custom networks, which must be given again, or
            ``device``. A model saved with ``device='cuda'`` loads with
            ``device='cpu'`` where torch sees no GPU, with a warning.

        Returns
        -------
        vae : VAETransformer
            The fitted estimator.

        Raises
        ------
        ValueError
            If the file is not a skvae weights file, or a custom network the
            model was fitted with is not given again.
        """
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or state.get("format") != WEIGHTS_FORMAT:
            raise ValueError(
                f"{path!r} is not a file written by VAETransformer.save_weights "
                f"(expected format {WEIGHTS_FORMAT!r})."
            )
        missing = [n for n in state["custom_networks"] if params.get(n) is None]
        if missing:
            raise ValueError(
                f"This model was fitted with a custom {' and '.join(missing)}, "
                "which save_weights does not store (it is code): pass the same "
                f"network again, e.g. load_weights(path, {missing[0]}=...)."
            )
        saved = dict(state["params"])
        saved["hidden_layer_sizes"] = tuple(saved["hidden_layer_sizes"])
        if (
            "device" not in params
            and "cuda" in str(saved["device"])
            and (not torch.cuda.is_available())
        ):
            warnings.warn(
                f"The model was saved with device={saved['device']!r}, but torch "
                "sees no CUDA GPU here: loading it with device='cpu'.",
                UserWarning,
            )
            saved["device"] = "cpu"
        vae = cls(**{**saved, **params})
        vae._validate_params()
        n_features = state["n_features_in"]
        # The networks' shapes; their data statistics are buffers, overwritten below.
        net = vae._build_net(np.zeros((2, n_features), dtype=np.float32), seed=0)
        net.initialize()
        net.module_.load_state_dict(state["module_state"])
        # Per-epoch history (not the per-batch one): warm starts keep counting.
        net.history_ = History([{**row, "batches": []} for row in state["history"]])
        vae.net_ = net
        vae.n_features_in_ = n_features
        if state["feature_names_in"] is not None:
            vae.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        vae._n_features_out = vae.n_components
        vae.n_iter_ = state["n_iter"]
        vae.loss_curve_ = state["loss_curve"]
        vae.validation_scores_ = state["validation_scores"]
        vae.best_validation_score_ = state["best_validation_score"]
        vae._elbo_eps = state["elbo_eps"].numpy()
        keys, pos, has_gauss, cached = state["rng_state"]
        vae._rng = np.random.RandomState()
        vae._rng.set_state(
            ("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached)
        )
        return vae

    # -------------------------------------------------------------- helpers

    def _validate_scored(self, X):
        X = self._validate_input(X, reset=False)
        if self.likelihood == "bernoulli":
            X, n_clipped = clip_unit_interval(X)
            if n_clipped:
                warnings.warn(
                    f"{n_clipped} values of X lie outside [0, 1], where the "
                    "Bernoulli likelihood is defined; they were clipped into it "
                    "for scoring.",
                    UserWarning,
                )
        return X

    def _validate_codes(self, Z):
        Z = check_array(Z, dtype=FLOAT_DTYPES, input_name="Z")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but this VAETransformer has "
                f"n_components={self.n_components} latent dimensions."
            )
        return Z

    def _inference_module(self, dtype):
        """The trained module in eval mode, in ``dtype`` (a cached copy if needed)."""
        return self.net_.module_for_inference(_torch_dtype(dtype))

    def _map_rows(self, X, fn, width):
        """Apply ``fn`` to batches of rows of X (dense or CSR) and stack the results.

        ``width`` is the number of values per row ``fn`` handles at once; each
        batch holds at most ``INFERENCE_BATCH_ELEMENTS`` of them, and of the
        densified input values (a sparse batch is as wide as X), so peak memory
        stays near input plus output size.
        """
        dtype = np.dtype(X.dtype)
        device = self.net_.device
        width = max(1, width, X.shape[1])
        step = max(1, min(4096, INFERENCE_BATCH_ELEMENTS // width))
        out = []
        with torch.no_grad(), limited_torch_threads():
            for start in range(0, X.shape[0], step):
                batch = X[start : start + step]
                if sp.issparse(batch):
                    batch = batch.toarray()
                out.append(fn(as_tensor(batch, dtype, device)).cpu().numpy())
        return np.concatenate(out).astype(dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags


def _plain(value):
    """A history value as plain Python (numpy scalars to int or float)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def module_dtype(module):
    """The floating dtype of a module's parameters."""
    return next(module.parameters()).dtype


def _torch_dtype(dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def _log_px(module, x, z_loc, z_logvar, eps):
    """log p(x | z_s) of each row for z_s = z_loc + sigma * eps_s: shape (S, batch)."""
    z = module.reparameterize(z_loc[None], z_logvar[None], eps[:, None, :])
    n_draws, n_rows = z.shape[:2]
    decoder_out = module.decode(z.reshape(n_draws * n_rows, -1))
    decoder_out = decoder_out.reshape(n_draws, n_rows, -1)
    return module.likelihood.log_prob(x.expand_as(decoder_out), decoder_out)


def _make_network(spec, kwargs, sizes, name, default):
    """Build the default network, copy a module instance, or instantiate a class."""
    if spec is None:
        return default()
    if isinstance(spec, torch.nn.Module):
        if kwargs:
            raise ValueError(
                f"{name}_kwargs only apply when {name} is a class, but {name} is "
                f"an instance of {type(spec).__name__}."
            )
        return copy.deepcopy(spec)
    try:
        params = inspect.signature(spec).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    given = {k: v for k, v in sizes.items() if takes_any or k in params}
    network = spec(**given, **(kwargs or {}))
    if not isinstance(network, torch.nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module or a class building one; calling "
            f"it gave a {type(network).__name__}."
        )
    return network


def _check_network_shapes(encoder, decoder, X_head, sizes):
    """Run two rows through the networks; ValueError naming any shape mismatch."""
    if sp.issparse(X_head):
        X_head = X_head.toarray()
    x = as_tensor(X_head, np.float32)
    n, k, d = x.shape[0], sizes["n_components"], sizes["n_features"]
    # In eval mode, so that dropout draws nothing and batch norm keeps its
    # running statistics; each submodule's own mode is put back after.
    modes = [(m, m.training) for net in (encoder, decoder) for m in net.modules()]
    encoder.eval()
    decoder.eval()
    try:
        _run_network_shapes(encoder, decoder, x, n, k, d)
    finally:
        for module, training in modes:
            module.training = training


def _run_network_shapes(encoder, decoder, x, n, k, d):
    try:
        with torch.no_grad():
            encoded = encoder(x)
    except Exception as exc:
        raise ValueError(
            f"The encoder failed on a batch of shape {tuple(x.shape)}: {exc}"
        ) from exc
    if not (
        isinstance(encoded, (tuple, list))
        and len(encoded) == 2
        and all(isinstance(t, torch.Tensor) and t.shape == (n, k) for t in encoded)
    ):
        got = (
            [
                tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                for t in encoded
            ]
            if isinstance(encoded, (tuple, list))
            else type(encoded).__name__
        )
        raise ValueError(
            "The encoder must return (z_loc, z_logvar), each of shape (batch, "
            f"n_components) = ({n}, {k}); it returned {got}."
        )
    try:
        with torch.no_grad():
            decoded = decoder(encoded[0])
    except Exception as exc:
        raise ValueError(
            f"The decoder failed on codes of shape ({n}, {k}): {exc}"
        ) from exc
    if not isinstance(decoded, torch.Tensor) or decoded.shape != (n, d):
        got = (
            tuple(decoded.shape)
            if isinstance(decoded, torch.Tensor)
            else type(decoded).__name__
        )
        raise ValueError(
            "The decoder must return one tensor of shape (batch, n_features) = "
            f"({n}, {d}); it returned {got}."
        )

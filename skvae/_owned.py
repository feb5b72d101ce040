"""What the faces over an owned VAETransformer share: the mirrored parameters.

:class:`~skvae.VAEOutlierDetector` and :class:`~skvae.VAEImputer` each fit a
:class:`~skvae.VAETransformer` (``vae_``) and take every one of its parameters
as their own, under the same name and meaning, so that ``GridSearchCV``
reaches them (``{"n_components": [5, 10]}``); a face may map one for its
purpose in ``_vae_params_for`` (the detector's ``early_stopping='auto'``
does not refit). Each face still spells out its
``__init__`` (sklearn reads the parameters from its signature) and documents
every parameter in its own docstring (numpydoc validates them); the mapping
to the VAE, the constraints and the warm start live here, once.
"""

from skvae._transformer import VAETransformer


def mirrored_constraints(**own):
    """VAETransformer's parameter constraints plus a face's ``own``."""
    return {**VAETransformer._parameter_constraints, **own}


class OwnedVAEMixin:
    """Mixin of an estimator that owns a VAETransformer and mirrors its parameters.

    A subclass lists the parameters that are not the VAE's in ``_own_params``;
    every other parameter of its ``get_params`` goes to the VAE.
    """

    #: The face's own parameters, which the VAE does not take.
    _own_params = ()

    #: The class of the VAE a fit builds (a face may train a subclass).
    _vae_class = VAETransformer

    def _vae_params(self):
        """The VAETransformer parameters, as set on this face."""
        return {k: v for k, v in self.get_params().items() if k not in self._own_params}

    def _vae_params_for(self, X):
        """The VAE's parameters for a fit on X (a face may map some of them)."""
        return self._vae_params()

    def _fit_vae(self, X):
        """Fit a new VAE to X, or continue ``vae_`` with ``warm_start``; return it.

        The face's other fitted attributes are its own to set, after this
        succeeds (a failed fit then leaves a previous one as it was).
        """
        return self._vae_for(self._vae_params_for(X)).fit(X)

    def _vae_for(self, params):
        """The VAE a fit trains: ``vae_`` with ``params`` set (``warm_start``)
        or a new ``_vae_class`` of them."""
        if self.warm_start and hasattr(self, "vae_"):
            return self.vae_.set_params(**params)
        return self._vae_class(**params)

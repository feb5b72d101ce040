"""skvae: Variational Autoencoders as a scikit-learn transformer."""

from skvae import likelihoods
from skvae._imputer import VAEImputer
from skvae._modules import Decoder, Encoder, VAEModule
from skvae._net import VAENet
from skvae._outlier import VAEOutlierDetector
from skvae._transformer import VAETransformer

__version__ = "0.2.0.dev0"

__all__ = [
    "Decoder",
    "Encoder",
    "VAEImputer",
    "VAEModule",
    "VAENet",
    "VAEOutlierDetector",
    "VAETransformer",
    "__version__",
    "likelihoods",
]

"""skvae: Variational Autoencoders as a scikit-learn transformer."""

from skvae._likelihoods import BernoulliHead, GaussianHead
from skvae._modules import Decoder, Encoder, VAEModule
from skvae._net import VAENet
from skvae._outlier import VAEOutlierDetector
from skvae._transformer import VAETransformer

__version__ = "0.1.0"

__all__ = [
    "BernoulliHead",
    "Decoder",
    "Encoder",
    "GaussianHead",
    "VAEModule",
    "VAENet",
    "VAEOutlierDetector",
    "VAETransformer",
    "__version__",
]

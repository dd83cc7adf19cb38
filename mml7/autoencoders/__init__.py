"""Autoencoders: linear (= PCA), convolutional and denoising, with PCA, PSNR and morphing.

An autoencoder is an encoder (image -> code) and a decoder (code -> image) trained so
that decoder(encoder(x)) ~ x. Without activations it can do no better than PCA, and with
squared error it learns the same subspace (not the same basis); convolutions and
non-linearities do better at the same code size; trained on noisy inputs against clean
targets it becomes a denoiser.

One idea per submodule: ``models`` (the Keras models and their two layers), ``training``,
``pca`` (PCA and the scores), ``noise`` (corruption and denoising robustness), ``latent``
(projections and morphs), ``weights`` (the pre-trained models: loading
and remaking them). Every public name is importable from here; ``figures`` (the page's
PCA reference and robustness curve, measured once and shipped) is imported by itself.

>>> model = build_linear_autoencoder((28, 28, 1), code_size=2)
>>> model.encoder.output_shape, model.decoder.output_shape
((None, 2), (None, 28, 28, 1))
"""

from mml7.autoencoders.latent import (
    PROJECTIONS,
    cross_fade,
    frame_changes,
    interpolate_codes,
    morph,
    neighbour_agreement,
    project_codes,
    side_by_side,
)
from mml7.autoencoders.models import (
    KINDS,
    Autoencoder,
    Centre,
    ClippedGaussianNoise,
    build_autoencoder,
    build_conv_autoencoder,
    build_for_images,
    build_linear_autoencoder,
)
from mml7.autoencoders.noise import NOISE_KINDS, add_noise, denoising_robustness
from mml7.autoencoders.pca import PCA, PCACodes, fit_pca, mse, principal_angles_to_pca, psnr
from mml7.autoencoders.training import (
    RETRAIN_DEFAULTS,
    download_contract,
    reference_scores,
    train_autoencoder,
    train_new,
    train_on_fashion_mnist,
)
from mml7.autoencoders.weights import (
    FACES_CODE_SIZE,
    FACES_EPOCHS,
    FACES_FILE,
    FACES_HELD_OUT,
    FAMILY_EPOCHS,
    LEARNING_RATES,
    SHIPPED_CODE_SIZES,
    SHIPPED_JOBS,
    SHIPPED_NOISE_STDDEVS,
    code_size_inversions,
    faces_split,
    lfw_faces_28,
    pretrained,
    pretrained_faces,
    shipped_scores,
    shipped_summary,
    shipped_test_mse,
    train_shipped,
    weights_path,
)

__all__ = [
    "FACES_CODE_SIZE",
    "FACES_EPOCHS",
    "FACES_FILE",
    "FACES_HELD_OUT",
    "FAMILY_EPOCHS",
    "KINDS",
    "LEARNING_RATES",
    "NOISE_KINDS",
    "PCA",
    "PCACodes",
    "PROJECTIONS",
    "RETRAIN_DEFAULTS",
    "SHIPPED_CODE_SIZES",
    "SHIPPED_JOBS",
    "SHIPPED_NOISE_STDDEVS",
    "Autoencoder",
    "Centre",
    "ClippedGaussianNoise",
    "add_noise",
    "build_autoencoder",
    "build_conv_autoencoder",
    "build_for_images",
    "build_linear_autoencoder",
    "code_size_inversions",
    "cross_fade",
    "denoising_robustness",
    "download_contract",
    "faces_split",
    "fit_pca",
    "frame_changes",
    "interpolate_codes",
    "lfw_faces_28",
    "morph",
    "mse",
    "neighbour_agreement",
    "pretrained",
    "pretrained_faces",
    "reference_scores",
    "principal_angles_to_pca",
    "project_codes",
    "psnr",
    "shipped_scores",
    "shipped_test_mse",
    "shipped_summary",
    "side_by_side",
    "train_autoencoder",
    "train_new",
    "train_on_fashion_mnist",
    "train_shipped",
    "weights_path",
]

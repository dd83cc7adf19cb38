"""The autoencoder models: linear (PCA's model), convolutional and denoising.

Each builder returns an ``Autoencoder``: three Keras models sharing their layers, the
encoder (images -> codes), the decoder (codes -> images) and the autoencoder
decoder(encoder(x)) that is trained. The two custom layers, ``Centre`` and
``ClippedGaussianNoise``, reload from a saved ``.keras`` model.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from mml7.errors import check_choice
from mml7.inference import BATCH_SIZE, predict

KINDS = ("linear", "conv", "denoising")


@dataclass
class Autoencoder:
    """Three Keras models that share layers: ``autoencoder = decoder(encoder(x))``.

    Attributes:
        encoder: images float32 (n, h, w, c) in [0, 1] -> codes (n, code_size).
        decoder: codes (n, code_size) -> images (n, h, w, c).
        autoencoder: images -> reconstructions (the model that is trained).
        kind: "linear", "conv" or "denoising".
        code_size: length of the code.
        noise_stddev: Gaussian noise the model was trained against (denoising only).
    """

    encoder: keras.Model
    decoder: keras.Model
    autoencoder: keras.Model
    kind: str
    code_size: int
    noise_stddev: float = 0.0

    def encode(self, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Codes float32 (n, code_size) of images float32 (n, h, w, c)."""
        return predict(self.encoder, images, batch_size)

    def decode(self, codes: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Images float32 (n, h, w, c) decoded from codes (n, code_size)."""
        return predict(self.decoder, codes, batch_size)

    def reconstruct(self, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """decoder(encoder(images)), float32 like ``images``."""
        return predict(self.autoencoder, images, batch_size)


def _check_code_size(code_size: int, limit: int) -> int:
    code_size = int(code_size)
    if not 1 <= code_size <= limit:
        raise ValueError(f"code_size must be between 1 and {limit}, got {code_size}")
    return code_size


def _assemble(encoder, decoder, input_shape, kind, code_size, noise_stddev=0.0) -> Autoencoder:
    inputs = keras.Input(input_shape, name="image")
    outputs = decoder(encoder(inputs))
    autoencoder = keras.Model(inputs, outputs, name=f"{kind}_autoencoder_{code_size}")
    return Autoencoder(encoder, decoder, autoencoder, kind, code_size, noise_stddev)


@keras.saving.register_keras_serializable(package="mml7")
class Centre(layers.Layer):
    """Subtracts a fixed vector (a non-trainable weight, saved with the model's weights).

    A linear autoencoder fed uncentred pixels trains slowly: the mean image dominates the
    inputs' second moments, so gradient descent is badly conditioned. PCA centres its
    data; so does this layer, with the training mean, before the trainable Dense code.

    Args:
        size: length of the (flattened) input.
        offset: initial value, e.g. the training mean; zeros when None.

    Input shape: (batch, size). Output shape: the same.

    >>> Centre(2, offset=np.array([1.0, 2.0]))(np.ones((1, 2), "float32")).numpy().tolist()
    [[0.0, -1.0]]
    """

    def __init__(self, size: int, offset=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self._initial = None if offset is None else np.ravel(offset).astype("float32")

    def build(self, input_shape):
        initializer = (
            "zeros" if self._initial is None else keras.initializers.Constant(self._initial)
        )
        self.offset = self.add_weight(
            shape=(self.size,), initializer=initializer, trainable=False, name="offset"
        )

    def call(self, inputs):
        return inputs - self.offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def build_linear_autoencoder(
    input_shape: tuple[int, int, int], code_size: int, data_mean: np.ndarray | None = None
) -> Autoencoder:
    """Encoder Dense(code_size) and decoder Dense(h*w*c), no activations: PCA's model.

    Encoder: Flatten -> Centre (subtract the fixed training mean) -> Dense(code_size).
    Decoder: Dense(h*w*c) -> Reshape.

    Args:
        input_shape: (h, w, c) of the images.
        code_size: k, the number of linear code units.
        data_mean: optional mean image (h, w, c): the encoder subtracts it (fixed) and
            the decoder's bias starts there, so training begins from "reconstruct
            everything as the mean image" (the k = 0 PCA answer). The Dense weights are
            random at first and trained, never set from PCA.
    """
    size = int(np.prod(input_shape))
    code_size = _check_code_size(code_size, size)
    encoder = keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Flatten(),
            Centre(size, data_mean, name="centre"),
            layers.Dense(code_size, name="code"),
        ],
        name="linear_encoder",
    )
    bias = "zeros" if data_mean is None else keras.initializers.Constant(np.ravel(data_mean))
    decoder = keras.Sequential(
        [
            keras.Input((code_size,)),
            layers.Dense(size, bias_initializer=bias, name="pixels"),
            layers.Reshape(input_shape),
        ],
        name="linear_decoder",
    )
    return _assemble(encoder, decoder, input_shape, "linear", code_size)


def build_conv_autoencoder(
    input_shape: tuple[int, int, int],
    code_size: int,
    filters: tuple[int, int] = (32, 64),
    kind: str = "conv",
    noise_stddev: float = 0.0,
) -> Autoencoder:
    """Two stride-2 convolutions down to (h/4, w/4), a dense code, and back up.

    Encoder: Conv(f0, 3, /2) -> Conv(f1, 3, /2) -> Flatten -> Dense(code_size).
    Decoder: Dense(h/4 * w/4 * f1) -> Conv2DTranspose(f1, /2) -> Conv2DTranspose(f0, /2)
    -> Conv(c, 3, sigmoid), so outputs are in [0, 1] like the inputs.

    Args:
        input_shape: (h, w, c) with h and w divisible by 4 (Fashion-MNIST: 28, 28, 1).
        code_size: length of the code.
        filters: channels of the two convolution stages.
        kind: "conv" or "denoising" (the name the model carries).
        noise_stddev: recorded for denoising models (the noise is added in training only).
    """
    height, width, channels = input_shape
    if height % 4 or width % 4:
        raise ValueError(f"image height and width must be divisible by 4, got {input_shape}")
    code_size = _check_code_size(code_size, height * width * channels)
    small = (height // 4, width // 4, filters[1])
    encoder = keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Conv2D(filters[0], 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(filters[1], 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(code_size, name="code"),
        ],
        name=f"{kind}_encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((code_size,)),
            layers.Dense(int(np.prod(small)), activation="relu"),
            layers.Reshape(small),
            layers.Conv2DTranspose(filters[1], 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(filters[0], 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="pixels"),
        ],
        name=f"{kind}_decoder",
    )
    return _assemble(encoder, decoder, input_shape, kind, code_size, noise_stddev)


def build_autoencoder(
    kind: str, code_size: int, input_shape=(28, 28, 1), noise_stddev: float = 0.2, **kwargs
) -> Autoencoder:
    """``build_linear_autoencoder`` or ``build_conv_autoencoder`` by ``kind``."""
    kind = check_choice(kind, KINDS, "kind")
    if kind == "linear":
        return build_linear_autoencoder(input_shape, code_size, **kwargs)
    if kind == "conv":
        return build_conv_autoencoder(input_shape, code_size, **kwargs)
    return build_conv_autoencoder(
        input_shape, code_size, kind="denoising", noise_stddev=noise_stddev, **kwargs
    )


@keras.saving.register_keras_serializable(package="mml7")
class ClippedGaussianNoise(layers.Layer):
    """Adds N(0, stddev^2) noise and clips to [0, 1], in training only (like GaussianNoise).

    Args:
        stddev: standard deviation of the noise, in units of the [0, 1] pixel range.
        seed: seed of the noise generator.

    Input shape: any. Output shape: the same.

    >>> layer = ClippedGaussianNoise(0.2)
    >>> layer(np.zeros((1, 2), "float32")).numpy().tolist()  # inference: unchanged
    [[0.0, 0.0]]
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {stddev}")
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = keras.random.normal(
            keras.ops.shape(inputs), stddev=self.stddev, seed=self.seed_generator
        )
        return keras.ops.clip(inputs + noise, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


def build_for_images(
    kind: str, code_size: int, images: np.ndarray, noise_stddev: float = 0.2
) -> Autoencoder:
    """``build_autoencoder`` for training on ``images`` float32 (n, h, w, c) in [0, 1].

    A linear model is given the images' mean (see ``build_linear_autoencoder``): it then
    trains from PCA's k = 0 answer instead of from noise.
    """
    images = np.asarray(images, dtype=np.float32)
    kind = check_choice(kind, KINDS, "kind")
    if kind == "linear":
        return build_linear_autoencoder(images.shape[1:], code_size, data_mean=images.mean(0))
    return build_autoencoder(kind, code_size, images.shape[1:], noise_stddev)

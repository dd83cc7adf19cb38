"""Transfer learning: the lecture's 2x2 advice, measured inputs, and experiments that check it.

The lecture ends transfer learning with a table: small data similar to ImageNet -> train
the last (MLP) layers on frozen features; big and similar -> fine-tune deeper layers; big
and not similar -> train from scratch; small and not similar -> collect more data. Here
both inputs are measured (images per class; ``imagenet_similarity`` from the ImageNet
classifier's own predictions), the transferability of frozen features is measured per cut
depth (linear probe and LogME), and ``run_experiments`` trains every strategy on the data
set so the advice can be checked against what actually worked best.
"""

from __future__ import annotations

import enum
import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mml7 import backbones
from mml7.data import ImageDataset
from mml7.errors import InputError

Progress = Callable[[float, str], None]

# "Big" data set: at least this many images per class. Below it a network with millions of
# weights overfits when all of them are trained (fine-tuning or from scratch), so the
# lecture's small row applies. 500 puts the course's cases on either side: LFW (100 per
# class), digits (~180) and Fashion-MNIST at 20 per class are small; Fashion-MNIST at 1,000
# per class is big. The page lets the user move it.
BIG_THRESHOLD = 500

# ``imagenet_similarity`` at or above this counts as "similar to ImageNet". Measured with
# MobileNet (alpha 1.0) at 224 px on 48-64 images: crops of everyday photos ~0.55,
# Fashion-MNIST ~0.45, LFW crops and digits ~0.2-0.25, uniform noise ~0.1.
SIMILARITY_THRESHOLD = 0.5

SIMILARITY_BACKBONE = "MobileNet with ImageNet head"
SIMILARITY_IMAGE_SIZE = 224  # the ImageNet head needs the training resolution


class Strategy(enum.Enum):
    """The four cells of the lecture's table (value = how the UI says it)."""

    TRAIN_HEAD = "train the head (last MLP layers) on frozen features"
    FINE_TUNE = "fine-tune deeper layers"
    FROM_SCRATCH = "train from scratch"
    COLLECT_MORE_DATA = "collect more data"

    @property
    def label(self) -> str:
        return self.value

    @property
    def short(self) -> str:
        """A few words, for a table cell or a chart title."""
        return _SHORT[self]


_SHORT = {
    Strategy.TRAIN_HEAD: "train the head<br>(last MLP layers)",
    Strategy.FINE_TUNE: "fine-tune<br>deeper layers",
    Strategy.FROM_SCRATCH: "train from scratch",
    Strategy.COLLECT_MORE_DATA: "collect more data",
}


@dataclass(frozen=True)
class Advice:
    """A cell of the table and why.

    Attributes:
        strategy: the advised ``Strategy``.
        reason: a sentence naming the numbers that decided it.
        images_per_class: the size input (None when not measured).
        similarity: measured ImageNet similarity in [0, 1] (None when given as a flag).
        similar: whether the data counted as similar to ImageNet.
        big: whether the data counted as big.
    """

    strategy: Strategy
    reason: str
    images_per_class: int | None = None
    similarity: float | None = None
    similar: bool | None = None
    big: bool | None = None


_TABLE = {
    (False, True): Strategy.TRAIN_HEAD,
    (True, True): Strategy.FINE_TUNE,
    (True, False): Strategy.FROM_SCRATCH,
    (False, False): Strategy.COLLECT_MORE_DATA,
}


def recommend(images_per_class: int, similar: bool, big_threshold: int = BIG_THRESHOLD) -> Advice:
    """The lecture's 2x2 table. ``images_per_class >= big_threshold`` is big.

    >>> recommend(20, similar=True).strategy
    <Strategy.TRAIN_HEAD: 'train the head (last MLP layers) on frozen features'>
    """
    if int(images_per_class) < 0:
        raise InputError(f"images_per_class must be >= 0, got {images_per_class}")
    if int(big_threshold) < 1:
        raise InputError(f"big_threshold must be >= 1, got {big_threshold}")
    big = int(images_per_class) >= int(big_threshold)
    strategy = _TABLE[(big, bool(similar))]
    size = "big" if big else "small"
    comparison = ">=" if big else "<"
    likeness = "similar to ImageNet" if similar else "not similar to ImageNet"
    reason = (
        f"{images_per_class:,} images per class {comparison} {big_threshold:,} is {size}, "
        f"and the data is {likeness}: {strategy.value}."
    )
    return Advice(strategy, reason, int(images_per_class), None, bool(similar), big)


# --------------------------------------------------------------------------- measured inputs


@functools.lru_cache(maxsize=1)
def imagenet_classifier():
    """MobileNet (alpha 1.0) WITH its 1000-class ImageNet head, returning its logits (the
    layer before the softmax) and its softmax. Shared: callers must not change it."""
    import keras

    from mml7 import resources

    filename = resources.IMAGENET_WEIGHT_FILES[SIMILARITY_BACKBONE]
    if resources.weights_state(filename) == "unavailable":
        raise InputError(
            f"the ImageNet classifier's weights are unavailable (offline and {filename} "
            "is not in the Keras cache), so similarity cannot be measured."
        )
    classifier = keras.applications.MobileNet(weights="imagenet")
    logits = classifier.get_layer("predictions").input  # (n, 1000) before the softmax
    return keras.Model(classifier.input, [logits, classifier.output], name="imagenet_classifier")


def sample_indices(labels: np.ndarray, max_images: int | None, seed: int = 0) -> np.ndarray:
    """At most ``max_images`` indices, stratified by label, sorted (all when it fits)."""
    labels = np.asarray(labels)
    if max_images is None or len(labels) <= max_images:
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 and max_images >= len(counts) else None
    picked, _ = train_test_split(
        np.arange(len(labels)), train_size=max_images, stratify=stratify, random_state=seed
    )
    return np.sort(picked)


def imagenet_outputs(images: np.ndarray, batch_size: int = 8, progress=None):
    """The ImageNet classifier's (logits, softmax), each float32 (n, 1000), for images
    float32 (n, h, w, 1|3) in [0, 1] (grey repeated to RGB, resized to 224 px).

    Small batches keep memory down: MobileNet 1.0 at 224 px took a process to a 3.3 GB
    peak with batches of 32 and 1.5 GB with batches of 8 (64 LFW images, measured here),
    and the app must stay within Community Cloud's memory."""
    model = imagenet_classifier()
    logits, probabilities = [], []
    for start in range(0, len(images), batch_size):
        batch = backbones.preprocess(
            images[start : start + batch_size], "MobileNet (alpha 1.0)", SIMILARITY_IMAGE_SIZE
        )
        # A compiled call (predict_on_batch) peaks lower than an eager one: 0.98 vs 1.49 GB
        # for a process classifying 64 images in batches of 8, measured here.
        z, p = model.predict_on_batch(batch)
        logits.append(np.asarray(z).reshape(len(batch), -1))
        probabilities.append(np.asarray(p).reshape(len(batch), -1))
        if progress is not None:
            done = min(start + batch_size, len(images))
            progress(done / len(images), f"ImageNet classifier: {done}/{len(images)} images")
    return np.concatenate(logits), np.concatenate(probabilities)


# The similarity score is a logistic of the classifier's energy (below): 0.5 at this many
# logit units, steepness 1 per unit. Measured (MobileNet 1.0, 224 px): crops of the bundled
# everyday photos ~15.9, Fashion-MNIST ~12.6, uniform noise 9.7-12.2, digits ~11.3, LFW
# crops ~10.3; the midpoint sits between the photos and the best-scoring non-photo set.
ENERGY_MIDPOINT = 13.5
ENERGY_SCALE = 1.0


def energy_from_logits(logits: np.ndarray) -> np.ndarray:
    """``logsumexp`` of each row of ``logits`` (n, classes), computed stably: (n,)."""
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max(axis=1)
    return top + np.log(np.exp(logits - top[:, None]).sum(axis=1))


def similarity_from_logits(logits: np.ndarray) -> np.ndarray:
    """Per-image ImageNet similarity in [0, 1]: ``sigmoid((E - ENERGY_MIDPOINT) /
    ENERGY_SCALE)`` of the energy E = logsumexp(logits). Shape (n,)."""
    energy = energy_from_logits(logits)
    return 1.0 / (1.0 + np.exp(-(energy - ENERGY_MIDPOINT) / ENERGY_SCALE))


def imagenet_scores(
    images: np.ndarray, max_images: int | None = 64, seed: int = 0, progress=None
) -> dict[str, float]:
    """The ImageNet classifier's view of ``images`` (a random subset of ``max_images``).

    Returns:
        similarity: mean over images of ``sigmoid((E - ENERGY_MIDPOINT) / ENERGY_SCALE)``,
            in [0, 1], where ``E = logsumexp(logits)`` is the (negative free) energy of
            Liu et al., "Energy-based out-of-distribution detection" (NeurIPS 2020): large
            when some ImageNet class's logit is large in absolute terms.
        energy: the mean E.
        max_softmax: mean top-class probability (Hendrycks & Gimpel's baseline).
        confidence: mean ``1 - H(p) / log(1000)`` (normalised entropy).
    The softmax-only scores are shown but not used: the classifier is confidently wrong on
    noise (MobileNet calls uniform noise "velvet" with ~50 % probability, as often as it
    names the object in a photo), while the energy stays low there.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        raise InputError("no images to measure the ImageNet similarity of")
    rng = np.random.default_rng(seed)
    if max_images is not None and len(images) > max_images:
        images = images[np.sort(rng.choice(len(images), max_images, replace=False))]
    logits, probabilities = imagenet_outputs(images, progress=progress)
    logits, probabilities = logits.astype(np.float64), probabilities.astype(np.float64)
    energy = energy_from_logits(logits)
    entropy = -(probabilities * np.log(np.clip(probabilities, 1e-12, 1.0))).sum(axis=1)
    similarity = similarity_from_logits(logits)
    return {
        "similarity": float(np.clip(similarity.mean(), 0.0, 1.0)),
        "energy": float(energy.mean()),
        "max_softmax": float(probabilities.max(axis=1).mean()),
        "confidence": float((1.0 - entropy / math.log(probabilities.shape[1])).mean()),
        "images_scored": len(images),
    }


def imagenet_similarity(
    images: np.ndarray, max_images: int | None = 64, seed: int = 0, progress=None
) -> float:
    """How ImageNet-like ``images`` are, in [0, 1] (see ``imagenet_scores``): the mean over
    images of a logistic of the ImageNet classifier's energy (logsumexp of its logits).

    Args:
        images: float32 (n, h, w, 1|3) in [0, 1].
        max_images: score a random subset of this many (seeded), or all when None.
    """
    return imagenet_scores(images, max_images, seed, progress)["similarity"]


def logme(features: np.ndarray, labels: np.ndarray, max_iterations: int = 11) -> float:
    """LogME (You et al., ICML 2021): mean per-class log evidence per sample of a Bayesian
    linear model ``y_c = f w + noise`` on the features, with the prior precision alpha and
    the noise precision beta set by evidence maximisation (MacKay's fixed-point updates).

    Higher is better: the features explain the one-hot labels with a simpler linear map.
    Scores compare feature sets for the same labels, not across data sets.

    Args:
        features: (n, d) feature vectors.
        labels: int (n,) class indices.
    """
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if f.ndim != 2 or len(f) < 2 or len(f) != len(labels):
        raise InputError(f"LogME needs (n >= 2, d) features and n labels, got {f.shape}")
    # Eigen-decomposition of F^T F, shared by every class (as in the reference code).
    _, singular, vt = np.linalg.svd(f, full_matrices=False)
    per_class = [
        logme_evidence(f, (labels == label).astype(np.float64), (singular, vt), max_iterations)[0]
        for label in np.unique(labels)
    ]
    return float(np.mean(per_class))


def logme_evidence(f: np.ndarray, y: np.ndarray, svd=None, max_iterations: int = 11):
    """Maximised log evidence per sample of ``y = f w + noise`` (one target), with
    w ~ N(0, I / alpha) and noise ~ N(0, 1 / beta). Returns (evidence / n, alpha, beta).

    The evidence is log N(y; 0, I / beta + f f^T / alpha); alpha and beta come from
    MacKay's fixed-point updates gamma = sum beta s / (alpha + beta s), alpha = gamma /
    m^T m, beta = (n - gamma) / |y - f m|^2, with s the eigenvalues of f^T f.
    """
    n, d = f.shape
    singular, vt = svd if svd is not None else np.linalg.svd(f, full_matrices=False)[1:]
    sigma = singular**2  # eigenvalues of F^T F (min(n, d) of them; the rest are 0)
    projected = vt @ (f.T @ y)  # F^T y in the eigenbasis
    alpha, beta = 1.0, 1.0
    for _ in range(max_iterations):
        gamma = (beta * sigma / (alpha + beta * sigma)).sum()
        m = vt.T @ (beta * projected / (alpha + beta * sigma))
        new_alpha = gamma / max(float(m @ m), 1e-12)
        new_beta = (n - gamma) / max(float(((y - f @ m) ** 2).sum()), 1e-12)
        converged = abs(new_alpha / new_beta - alpha / beta) / (alpha / beta) < 1e-3
        alpha, beta = new_alpha, new_beta
        if converged:
            break
    m = vt.T @ (beta * projected / (alpha + beta * sigma))
    alpha_term = float(m @ m)
    residual = float(((y - f @ m) ** 2).sum())
    # log|A|, A = alpha I + beta F^T F; eigenvalues beyond min(n, d) are 0 and add log(alpha).
    log_det = np.log(alpha + beta * sigma).sum() + (d - len(sigma)) * math.log(alpha)
    evidence = (
        d / 2 * math.log(alpha)
        + n / 2 * math.log(beta)
        - 0.5 * log_det
        - beta / 2 * residual
        - alpha / 2 * alpha_term
        - n / 2 * math.log(2 * math.pi)
    )
    return evidence / n, alpha, beta


def linear_probe(features: np.ndarray, labels: np.ndarray, folds: int = 3, seed: int = 0) -> float:
    """Cross-validated accuracy of a logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels)
    smallest = np.bincount(labels)[np.unique(labels)].min()
    folds = int(min(folds, smallest))
    if folds < 2:
        raise InputError("a cross-validated probe needs at least 2 images of each class")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=300))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(model, features, labels, cv=splitter).mean())


@dataclass(frozen=True)
class DepthScore:
    """Transferability of the frozen features at one cut depth."""

    cut: str
    dimensions: int
    probe_accuracy: float
    logme: float


def transferability(
    features_by_cut: dict[str, np.ndarray], labels: np.ndarray, seed: int = 0
) -> list[DepthScore]:
    """Linear-probe accuracy and LogME of each cut's features, in the order given."""
    return [
        DepthScore(cut, int(f.shape[1]), linear_probe(f, labels, seed=seed), logme(f, labels))
        for cut, f in features_by_cut.items()
    ]


def recommended_cut(scores: list[DepthScore]) -> str:
    """The depth to cut at: best probe accuracy; LogME breaks ties within 0.5 %."""
    best = max(score.probe_accuracy for score in scores)
    close = [score for score in scores if score.probe_accuracy >= best - 0.005]
    return max(close, key=lambda score: score.logme).cut


def ensemble_cut(scores: list[DepthScore], cut: str) -> str:
    """The partner depth for the ensemble: the best-probing cut other than ``cut``."""
    others = [score for score in scores if score.cut != cut]
    if not others:
        return cut
    return max(others, key=lambda score: (score.probe_accuracy, score.logme)).cut


def images_per_class(dataset: ImageDataset) -> int:
    """The size input of the table: the smallest class's count (the bottleneck)."""
    counts = dataset.images_per_class()
    return int(counts[counts > 0].min()) if counts.any() else 0


def advise(
    dataset: ImageDataset,
    similarity: float | None = None,
    big_threshold: int = BIG_THRESHOLD,
    similarity_threshold: float = SIMILARITY_THRESHOLD,
    max_images: int = 64,
    progress: Progress | None = None,
) -> Advice:
    """The table's advice for ``dataset`` from its measured size and ImageNet similarity.

    Args:
        similarity: the measured score if already known (else measured on ``max_images``).
    """
    if similarity is None:
        similarity = imagenet_similarity(dataset.images, max_images, progress=progress)
    per_class = images_per_class(dataset)
    similar = similarity >= similarity_threshold
    cell = recommend(per_class, similar, big_threshold)
    reason = (
        f"Smallest class: {per_class:,} images ({'>=' if cell.big else '<'} "
        f"{big_threshold:,}, so {'big' if cell.big else 'small'}); ImageNet similarity "
        f"{similarity:.2f} ({'>=' if similar else '<'} {similarity_threshold:.2f}, so "
        f"{'similar' if similar else 'not similar'}). Advice: {cell.strategy.value}."
    )
    return Advice(cell.strategy, reason, per_class, float(similarity), similar, cell.big)


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ExperimentConfig:
    """The knobs of ``run_experiments`` (one place, so a cache key is one value)."""

    backbone: str = backbones.DEFAULT_BACKBONE  # the extractor of every strategy
    cut: str = "last"  # depth the extractor is cut at
    image_size: int = 64  # square input side (small: 2 CPU cores)
    hidden_units: int = 64  # the MLP head's hidden layer
    dropout: float = 0.2  # before the head's output layer
    head_epochs: int = 40  # head on cached features (cheap)
    head_batch_size: int = 32  # batches of 128 scored 0.05-0.15 lower (digits, Fashion-20)
    head_learning_rate: float = 1e-3  # Adam; fine-tuning uses a tenth of it
    fine_tune_blocks: int = 2  # the top N blocks unfrozen in (b)
    fine_tune_epochs: int = 3
    scratch_epochs: int = 6  # (c) gets more epochs: it starts from nothing
    ensemble_cut: str = "block 11"  # the second member of (d): a head at another depth
    validation_fraction: float = 0.25
    max_train_images: int | None = None  # stratified cap on the training split, all if None
    batch_size: int = 32
    seed: int = 0


def build_head(input_dim: int, num_classes: int, hidden_units: int = 64, dropout: float = 0.2):
    """The new MLP head: features (n, input_dim) -> class probabilities (n, num_classes)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((input_dim,)),
            layers.Dense(hidden_units, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="head",
    )


SCRATCH_BN_MOMENTUM = 0.9  # BatchNormalization momentum of a from-scratch extractor


def build_transfer_model(
    backbone: str,
    cut: str,
    image_size: int,
    head,
    weights: str | None = "imagenet",
):
    """Extractor (a fresh copy cut at ``cut``) + global average pooling + ``head``.

    With ImageNet weights the extractor is called with ``training=False``, so its
    BatchNormalization layers stay in inference mode even when fine-tuned (the Keras
    transfer-learning guide); from random weights BN must learn its statistics, so it runs
    in training mode. The extractor starts frozen. Returns (model, extractor).
    """
    import keras
    from keras import layers

    extractor = backbones.build_truncated(backbone, cut, image_size, weights)
    extractor.trainable = weights is None
    if weights is None:
        # Keras's default BN momentum (0.99) needs ~500 steps for the moving statistics to
        # leave their initial values; a from-scratch run here has a few dozen, so the
        # validation score would measure that warm-up (chance level), not the network.
        for layer in extractor.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = SCRATCH_BN_MOMENTUM
    inputs = keras.Input((image_size, image_size, 3))
    features = extractor(inputs, training=False if weights is not None else None)
    outputs = head(layers.GlobalAveragePooling2D()(features))
    return keras.Model(inputs, outputs, name="transfer"), extractor


def unfreeze_top_blocks(extractor, backbone: str, blocks: int) -> list[str]:
    """Make only the last ``blocks`` blocks of ``extractor`` trainable; returns their layer
    names. BatchNormalization layers stay frozen. Recompile the model afterwards (Keras
    reads ``trainable`` at compile time)."""
    import keras

    found = backbones.spec(backbone)
    order: list[str] = []
    for layer in extractor.layers:
        block = found.block_of(layer.name)
        if block is not None and block not in order:
            order.append(block)
    top = set(order[-blocks:]) if blocks > 0 else set()
    extractor.trainable = True
    unfrozen = []
    for layer in extractor.layers:
        # BatchNormalization stays frozen, gamma and beta too (keras-io's EfficientNet
        # fine-tuning example): its statistics were learned on ImageNet's big batches.
        is_batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = found.block_of(layer.name) in top and not is_batch_norm
        if layer.trainable and layer.weights:
            unfrozen.append(layer.name)
    return unfrozen


def trainable_parameters(model) -> int:
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def ensemble_probabilities(member_probabilities: list[np.ndarray]) -> np.ndarray:
    """The ensemble's prediction: the mean of its members' class probabilities."""
    if len(member_probabilities) < 2:
        raise InputError("an ensemble needs at least 2 members")
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in member_probabilities])
    return stacked.mean(axis=0).astype(np.float32)


def _curve_callback(name: str, on_epoch, progress, start: float, span: float, epochs: int):
    import keras

    class Curves(keras.callbacks.Callback):
        """Records loss/accuracy per epoch and reports them (live curves, progress)."""

        def __init__(self):
            super().__init__()
            self.history: dict[str, list[float]] = {}

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            if on_epoch is not None:
                on_epoch(name, self.history)
            if progress is not None:
                progress(start + span * (epoch + 1) / epochs, f"{name}: epoch {epoch + 1}")

    return Curves()


def _seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


class _HeadTrainer:
    """Trains heads of one shape (input size, classes, hidden units, dropout) with Adam and
    sparse categorical cross-entropy, one compiled call per epoch.

    Why not ``head.compile(); head.fit()``: every new Keras model traces a new training
    function (~3 s here), and ``fit`` builds a tf.data iterator twice per epoch (~14 ms
    each), while an epoch of a 64-unit MLP on a thousand cached vectors computes in a few
    milliseconds. So one trainer per shape keeps a head whose training step is traced
    once (``input_signature`` with a free batch axis: any number of images), and each new
    head is trained by loading its initial weights into it, training, and copying the
    weights back. The loop is the Keras guide's "training loop from scratch": mini-batches
    of a reshuffled order, ``training=True`` (dropout on), the mean loss and accuracy of
    the epoch weighted by batch size, as ``fit`` reports them.
    """

    def __init__(self, input_dim: int, num_classes: int, hidden_units: int, dropout: float):
        import keras
        import tensorflow as tf

        self.model = build_head(input_dim, num_classes, hidden_units, dropout)
        self.optimizer = keras.optimizers.Adam()
        self.optimizer.build(self.model.trainable_variables)
        self.lock = threading.Lock()
        loss_function = keras.losses.SparseCategoricalCrossentropy(reduction="sum")
        model, optimizer = self.model, self.optimizer
        signature = [
            tf.TensorSpec([None, input_dim], tf.float32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.int32),
        ]

        @tf.function(input_signature=signature)
        def train_epoch(x, y, order, batch_size):
            count = tf.shape(order)[0]
            loss_sum, correct = tf.constant(0.0), tf.constant(0)
            for start in tf.range(0, count, batch_size):
                batch = order[start : start + batch_size]
                xb, yb = tf.gather(x, batch), tf.gather(y, batch)
                with tf.GradientTape() as tape:
                    probabilities = model(xb, training=True)
                    total = loss_function(yb, probabilities)
                    loss = total / tf.cast(tf.shape(batch)[0], tf.float32)
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply(gradients, model.trainable_variables)
                loss_sum += total
                predicted = tf.argmax(probabilities, axis=1, output_type=tf.int32)
                correct += tf.reduce_sum(tf.cast(predicted == yb, tf.int32))
            samples = tf.cast(count, tf.float32)
            return loss_sum / samples, tf.cast(correct, tf.float32) / samples

        @tf.function(input_signature=signature[:2])
        def evaluate(x, y):
            probabilities = model(x, training=False)
            predicted = tf.argmax(probabilities, axis=1, output_type=tf.int32)
            samples = tf.cast(tf.shape(x)[0], tf.float32)
            return (
                loss_function(y, probabilities) / samples,
                tf.reduce_mean(tf.cast(predicted == y, tf.float32)),
            )

        self.train_epoch, self.evaluate = train_epoch, evaluate

    def fit(self, head, x, y, config: ExperimentConfig, validation, callbacks) -> None:
        """Train ``head`` (built by ``build_head`` with this trainer's shape) in place."""
        import keras

        with self.lock:
            for target, source in zip(self.model.variables, head.variables, strict=True):
                target.assign(source)  # weights and the dropout seed
            for variable in self.optimizer.variables:
                variable.assign(np.zeros(variable.shape, variable.dtype))  # moments, step
            self.optimizer.learning_rate = config.head_learning_rate
            x = np.asarray(x, dtype=np.float32)
            y = np.asarray(y, dtype=np.int32)
            if validation is not None:
                validation = (
                    np.asarray(validation[0], dtype=np.float32),
                    np.asarray(validation[1], dtype=np.int32),
                )
            callbacks = keras.callbacks.CallbackList(callbacks or [], model=head)
            rng = np.random.default_rng(config.seed)
            callbacks.on_train_begin()
            for epoch in range(config.head_epochs):
                callbacks.on_epoch_begin(epoch)
                order = rng.permutation(len(x)).astype(np.int32)
                loss, acc = self.train_epoch(x, y, order, np.int32(config.head_batch_size))
                logs = {"loss": float(loss), "accuracy": float(acc)}
                if validation is not None:
                    val_loss, val_acc = self.evaluate(*validation)
                    logs.update(val_loss=float(val_loss), val_accuracy=float(val_acc))
                callbacks.on_epoch_end(epoch, logs)
            callbacks.on_train_end()
            for target, source in zip(head.variables, self.model.variables, strict=True):
                target.assign(source)


_HEAD_TRAINERS: dict[tuple, _HeadTrainer] = {}
_HEAD_TRAINERS_LOCK = threading.Lock()
MAX_HEAD_TRAINERS = 8


def _head_trainer(key: tuple) -> _HeadTrainer:
    with _HEAD_TRAINERS_LOCK:
        if key not in _HEAD_TRAINERS:
            if len(_HEAD_TRAINERS) >= MAX_HEAD_TRAINERS:
                del _HEAD_TRAINERS[next(iter(_HEAD_TRAINERS))]  # the oldest
            _HEAD_TRAINERS[key] = _HeadTrainer(*key)
        return _HEAD_TRAINERS[key]


def fit_head(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    num_classes: int,
    config: ExperimentConfig,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list | None = None,
):
    """A new MLP head (``build_head``) trained on frozen (cached) features; returns it.

    Adam at ``config.head_learning_rate``, ``config.head_epochs`` epochs of mini-batches
    of ``config.head_batch_size``; ``callbacks`` get Keras's ``on_epoch_end(epoch, logs)``
    with loss, accuracy (and val_loss, val_accuracy with ``validation``). The same seed
    gives the same head.
    """
    key = (
        int(train_features.shape[1]),
        int(num_classes),
        int(config.hidden_units),
        float(config.dropout),
    )
    trainer = _head_trainer(key)
    with _HEAD_TRAINERS_LOCK:  # seeding is process-wide: one seeded build at a time
        _seed(config.seed)
        head = build_head(*key)
    trainer.fit(head, train_features, train_labels, config, validation, callbacks)
    return head


def fit_whole_model(
    model,
    learning_rate: float,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    config: ExperimentConfig,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list | None = None,
) -> None:
    """Compile ``model`` (Adam at ``learning_rate``, sparse cross-entropy, accuracy) and
    fit it on images: fine-tuning (b) and from scratch (c). Keras reads which layers are
    trainable at compile time, so set them first."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    _seed(config.seed)
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=config.batch_size,
        validation_data=validation,
        callbacks=callbacks or [],
        verbose=0,
    )


def predict(model, inputs: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities, batched, no Keras progress bar."""
    return np.concatenate(
        [
            np.asarray(model(inputs[start : start + batch_size], training=False))
            for start in range(0, len(inputs), batch_size)
        ]
    )


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float((np.argmax(probabilities, axis=1) == np.asarray(labels)).mean())


# --------------------------------------------------------------------------- experiments

ROW_STRATEGY = {
    "(a) frozen extractor + new head": Strategy.TRAIN_HEAD,
    "(b) fine-tune top blocks": Strategy.FINE_TUNE,
    "(c) from scratch": Strategy.FROM_SCRATCH,
    "(d) ensemble of heads": Strategy.TRAIN_HEAD,
}


@dataclass
class ExperimentResult:
    """What ``run_experiments`` measured.

    Attributes:
        rows: one dict per strategy: strategy, validation_accuracy, trainable_params,
            wall_time_s, train_images, note.
        curves: strategy -> Keras history (loss, accuracy, val_loss, val_accuracy per epoch).
        num_train, num_validation: split sizes.
        extraction_s: time to extract the frozen features (zero when they came cached).
    """

    rows: list[dict]
    curves: dict[str, dict[str, list[float]]]
    num_train: int
    num_validation: int
    extraction_s: float = 0.0
    learning_curve: list[dict] = field(default_factory=list)


def split(labels: np.ndarray, validation_fraction: float, seed: int):
    """Stratified train/validation indices (fixed seed)."""
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    present = np.unique(labels)
    counts = np.bincount(labels)[present]
    if len(present) < 2:
        raise InputError("the data set needs at least 2 classes")
    if counts.min() < 2:
        raise InputError(
            f"every class needs at least 2 images for a train/validation split "
            f"(the smallest has {counts.min()})"
        )
    validation_size = max(int(round(validation_fraction * len(labels))), len(present))
    train, validation = train_test_split(
        np.arange(len(labels)), test_size=validation_size, stratify=labels, random_state=seed
    )
    return np.sort(train), np.sort(validation)


def dataset_features(
    dataset: ImageDataset, config: ExperimentConfig, cuts: tuple[str, ...], progress=None
) -> dict[str, np.ndarray]:
    """Frozen features of every image at each cut (what the page caches)."""
    features = {}
    for i, cut in enumerate(cuts):

        def report(fraction, message, i=i, cut=cut):
            if progress is not None:
                progress((i + fraction) / len(cuts), f"features at {cut}: {message}")

        features[cut] = backbones.extract_features(
            dataset.images, config.backbone, cut, config.image_size, progress=report
        )
    return features


def run_experiments(
    dataset: ImageDataset,
    config: ExperimentConfig = ExperimentConfig(),
    features: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    on_epoch: Callable[[str, dict], None] | None = None,
) -> ExperimentResult:
    """Train (a) a head on frozen features, (b) fine-tuning of the top blocks, (c) the same
    architecture from random weights and (d) an ensemble of two heads at different depths,
    all on one stratified split; validation accuracy, trainable parameters, wall time.

    Args:
        features: cut -> features of every image of ``dataset`` for ``config.cut`` and
            ``config.ensemble_cut`` (cached by the caller); extracted when missing.
        progress: ``progress(fraction, message)``.
        on_epoch: ``on_epoch(strategy, history)`` after every epoch (live curves).
    """
    cuts = tuple(dict.fromkeys((config.cut, config.ensemble_cut)))
    for cut in cuts:
        backbones.spec(config.backbone).layer_name(cut)
    train, validation = split(dataset.labels, config.validation_fraction, config.seed)
    if config.max_train_images is not None:
        train = train[sample_indices(dataset.labels[train], config.max_train_images, config.seed)]
    y_train, y_val = dataset.labels[train], dataset.labels[validation]
    num_classes = dataset.num_classes
    report = progress or (lambda fraction, message: None)

    extraction_s = 0.0
    if features is None or any(cut not in features for cut in cuts):
        began = time.perf_counter()
        features = dataset_features(dataset, config, cuts, lambda f, m: report(0.15 * f, m))
        extraction_s = time.perf_counter() - began
    rows, curves = [], {}

    def row(name, probabilities, params, seconds, note):
        rows.append(
            {
                "strategy": name,
                "validation_accuracy": accuracy(probabilities, y_val),
                "trainable_params": int(params),
                "wall_time_s": float(seconds),
                "train_images": len(train),
                "note": note,
            }
        )

    def callback(name, start, span, epochs):
        recorder = _curve_callback(name, on_epoch, report, start, span, epochs)
        return recorder

    # (a) frozen extractor + new MLP head, trained on the cached features.
    name_a = "(a) frozen extractor + new head"
    began = time.perf_counter()
    recorder = callback(name_a, 0.15, 0.1, config.head_epochs)
    features_main = features[config.cut]
    head = fit_head(
        features_main[train],
        y_train,
        num_classes,
        config,
        validation=(features_main[validation], y_val),
        callbacks=[recorder],
    )
    probabilities_a = predict(head, features_main[validation])
    row(
        name_a,
        probabilities_a,
        trainable_parameters(head),
        time.perf_counter() - began,
        f"{config.backbone}, cut at {config.cut}, features cached",
    )
    curves[name_a] = recorder.history

    # (b) the same head, then the top blocks unfrozen at a 10x smaller learning rate.
    import keras

    name_b = "(b) fine-tune top blocks"
    began = time.perf_counter()
    x_train = backbones.preprocess(dataset.images[train], config.backbone, config.image_size)
    x_val = backbones.preprocess(dataset.images[validation], config.backbone, config.image_size)
    tuned_head = keras.models.clone_model(head)
    tuned_head.set_weights(head.get_weights())
    model, extractor = build_transfer_model(
        config.backbone, config.cut, config.image_size, tuned_head
    )
    unfreeze_top_blocks(extractor, config.backbone, config.fine_tune_blocks)
    recorder = callback(name_b, 0.25, 0.35, config.fine_tune_epochs)
    fit_whole_model(
        model,
        config.head_learning_rate / 10,
        x_train,
        y_train,
        config.fine_tune_epochs,
        config,
        (x_val, y_val),
        [recorder],
    )
    row(
        name_b,
        predict(model, x_val, 64),
        trainable_parameters(model),
        time.perf_counter() - began + rows[0]["wall_time_s"],
        f"head from (a), then top {config.fine_tune_blocks} blocks at lr "
        f"{config.head_learning_rate / 10:g}",
    )
    curves[name_b] = recorder.history

    # (c) the same architecture from random initialisation, everything trained.
    name_c = "(c) from scratch"
    began = time.perf_counter()
    _seed(config.seed)
    scratch_head = build_head(
        features_main.shape[1], num_classes, config.hidden_units, config.dropout
    )
    model, _ = build_transfer_model(
        config.backbone, config.cut, config.image_size, scratch_head, weights=None
    )
    recorder = callback(name_c, 0.6, 0.35, config.scratch_epochs)
    fit_whole_model(
        model,
        config.head_learning_rate,
        x_train,
        y_train,
        config.scratch_epochs,
        config,
        (x_val, y_val),
        [recorder],
    )
    row(
        name_c,
        predict(model, x_val, 64),
        trainable_parameters(model),
        time.perf_counter() - began,
        f"same architecture, random weights, {config.scratch_epochs} epochs",
    )
    curves[name_c] = recorder.history

    # (d) ensemble: (a)'s head and a head on another cut's features.
    name_d = "(d) ensemble of heads"
    began = time.perf_counter()
    other_cut = config.ensemble_cut if config.ensemble_cut != config.cut else None
    if other_cut is None:  # same cut: the second member differs by its seed
        other_cut = config.cut
    recorder = callback(name_d, 0.95, 0.05, config.head_epochs)
    other = features[other_cut]
    second = fit_head(
        other[train],
        y_train,
        num_classes,
        ExperimentConfig(**{**config.__dict__, "seed": config.seed + 1}),
        validation=(other[validation], y_val),
        callbacks=[recorder],
    )
    probabilities_d = ensemble_probabilities([probabilities_a, predict(second, other[validation])])
    row(
        name_d,
        probabilities_d,
        trainable_parameters(head) + trainable_parameters(second),
        time.perf_counter() - began + rows[0]["wall_time_s"],
        f"mean probabilities of heads at {config.cut} and {other_cut}",
    )
    curves[name_d] = recorder.history
    report(1.0, "done")
    return ExperimentResult(rows, curves, len(train), len(validation), extraction_s)


# --------------------------------------------------------------------------- learning curve

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5, 1.0)


def learning_curve(
    dataset: ImageDataset,
    strategy: Strategy,
    config: ExperimentConfig = ExperimentConfig(),
    features: dict[str, np.ndarray] | None = None,
    fractions: tuple[float, ...] = LEARNING_CURVE_FRACTIONS,
    progress: Progress | None = None,
) -> list[dict]:
    """Validation accuracy of ``strategy`` trained on growing stratified fractions of the
    training split (same validation set): does more data still help?

    ``COLLECT_MORE_DATA`` is measured with the head on frozen features, the best one can
    do before collecting.
    """

    train, validation = split(dataset.labels, config.validation_fraction, config.seed)
    if config.max_train_images is not None:
        train = train[sample_indices(dataset.labels[train], config.max_train_images, config.seed)]
    y_val = dataset.labels[validation]
    if features is None or config.cut not in features:
        features = dataset_features(dataset, config, (config.cut,))
    cached = features[config.cut]
    points = []
    for i, fraction in enumerate(fractions):
        count = max(int(round(fraction * len(train))), dataset.num_classes)
        subset = train[sample_indices(dataset.labels[train], count, config.seed)]
        y_subset = dataset.labels[subset]
        head = fit_head(cached[subset], y_subset, dataset.num_classes, config)
        if strategy in (Strategy.TRAIN_HEAD, Strategy.COLLECT_MORE_DATA):
            score = accuracy(predict(head, cached[validation]), y_val)
        else:
            x_subset = backbones.preprocess(
                dataset.images[subset], config.backbone, config.image_size
            )
            x_val = backbones.preprocess(
                dataset.images[validation], config.backbone, config.image_size
            )
            scratch = strategy is Strategy.FROM_SCRATCH
            _seed(config.seed)
            if scratch:
                head = build_head(
                    cached.shape[1], dataset.num_classes, config.hidden_units, config.dropout
                )
            model, extractor = build_transfer_model(
                config.backbone,
                config.cut,
                config.image_size,
                head,
                weights=None if scratch else "imagenet",
            )
            if not scratch:
                unfreeze_top_blocks(extractor, config.backbone, config.fine_tune_blocks)
            rate = config.head_learning_rate if scratch else config.head_learning_rate / 10
            epochs = config.scratch_epochs if scratch else config.fine_tune_epochs
            fit_whole_model(model, rate, x_subset, y_subset, epochs, config)
            score = accuracy(predict(model, x_val, 64), y_val)
        points.append({"fraction": fraction, "train_images": len(subset), "accuracy": score})
        if progress is not None:
            progress((i + 1) / len(fractions), f"learning curve: {fraction:.0%} of the data")
    return points


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Verdict:
    """The advice against the measured best."""

    advised: Strategy
    best_row: str
    best_accuracy: float
    advised_accuracy: float | None
    agree: bool
    sentence: str


def verdict(
    advice: Advice,
    rows: list[dict],
    learning: list[dict] | None = None,
    num_validation: int | None = None,
) -> Verdict:
    """Whether the advice held on the measurements.

    A strategy's accuracy is its best row's ((a) or (d) for the head). The advice holds
    when the advised strategy is within the margin of the best: two validation images'
    worth when ``num_validation`` is given, at least 1 point. ``COLLECT_MORE_DATA`` holds
    when the learning curve still rises from half to all of the training data by more
    than the margin (more data still helps).
    """
    best = max(rows, key=lambda r: r["validation_accuracy"])
    # Two validation images' worth (at least 1 point): smaller gaps are split noise.
    margin = 0.01 if not num_validation else max(0.01, 2 / int(num_validation))
    advised = advice.strategy
    if advised is Strategy.COLLECT_MORE_DATA:
        if not learning or len(learning) < 2:
            raise InputError("the collect-more-data advice is checked on a learning curve")
        gain = learning[-1]["accuracy"] - learning[-2]["accuracy"]
        agree = gain > margin
        sentence = (
            f"Advice: {advised.value}. With all the training data the head scores "
            f"{learning[-1]['accuracy']:.1%} vs {learning[-2]['accuracy']:.1%} with half: "
            f"more data {'still helps' if agree else 'no longer helps much'}, so the advice "
            f"{'held' if agree else 'did not hold'} (best measured: {best['strategy']}, "
            f"{best['validation_accuracy']:.1%})."
        )
        return Verdict(
            advised, best["strategy"], best["validation_accuracy"], None, agree, sentence
        )
    advised_scores = [
        r["validation_accuracy"] for r in rows if ROW_STRATEGY.get(r["strategy"]) is advised
    ]
    advised_accuracy = max(advised_scores)
    agree = advised_accuracy >= best["validation_accuracy"] - margin
    sentence = (
        f"Advice: {advised.value} ({advised_accuracy:.1%}). Measured best: {best['strategy']} "
        f"({best['validation_accuracy']:.1%}). The advice "
        f"{'held' if agree else 'did not hold'}"
        + (
            f" (within {margin:.0%} of the best)."
            if agree and advised_accuracy < best["validation_accuracy"]
            else "."
        )
    )
    return Verdict(
        advised, best["strategy"], best["validation_accuracy"], advised_accuracy, agree, sentence
    )


# --------------------------------------------------------------------------- data sets


def _fashion(per_class: int) -> ImageDataset:
    from mml7 import data

    full = data.fashion_mnist("train")
    picked = full.per_class(per_class, seed=0)
    picked.name = f"Fashion-MNIST, {per_class:,} per class"
    return picked


def _lfw() -> ImageDataset:
    from mml7 import data

    return data.lfw_faces()


def _digits() -> ImageDataset:
    from mml7 import data

    return data.digits()


# The built-in cases, name -> loader; all work offline.
BUILTIN_DATASETS: dict[str, Callable[[], ImageDataset]] = {
    "LFW faces vs non-faces": _lfw,
    "Fashion-MNIST, 20 per class": functools.partial(_fashion, 20),
    "Fashion-MNIST, 1,000 per class": functools.partial(_fashion, 1000),
    "Digits (8x8)": _digits,
}


def load_dataset(name: str) -> ImageDataset:
    if name not in BUILTIN_DATASETS:
        raise InputError(f"unknown data set {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}")
    return BUILTIN_DATASETS[name]()


def read_path(path, image_size: int = 96) -> ImageDataset:
    """A zip of class folders, or a folder of class folders, as an ImageDataset."""
    import io
    import zipfile
    from pathlib import Path

    from mml7 import data

    path = Path(path)
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for file in sorted(path.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(path).as_posix())
        raw, name = buffer.getvalue(), f"{path.name}.zip"
    elif path.is_file():
        raw, name = path.read_bytes(), path.name
    else:
        raise InputError(f"{path} is neither a zip file nor a folder")
    return data.read_upload(name, raw, image_size=image_size, channels=3, min_classes=2)

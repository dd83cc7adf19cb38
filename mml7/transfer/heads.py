"""The models the strategies train, and how they are trained.

A head is a small MLP on pooled features; a transfer model is a cut backbone, global
average pooling and a head. ``fit_head`` trains a head on cached (frozen) features with a
training step traced once per head shape, so a new head costs a fraction of a second;
``fit_whole_model`` compiles and fits a whole transfer model on images (fine-tuning, or
training from scratch) the Keras way. ``fit_head`` needs the TensorFlow backend.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np

from mml7 import backbones
from mml7.errors import InputError

if TYPE_CHECKING:
    from mml7.transfer.experiments import ExperimentConfig

SCRATCH_BN_MOMENTUM = 0.9  # BatchNormalization momentum of a from-scratch extractor


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend (process-wide)."""
    import keras

    keras.utils.set_random_seed(seed)


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
    in training mode. The extractor starts frozen. Input: preprocessed images (n,
    image_size, image_size, 3). Returns (model, extractor).
    """
    import keras
    from keras import layers

    extractor = backbones.build_truncated(backbone, cut, image_size, weights)
    extractor.trainable = weights is None
    if weights is None:
        # Keras's default BN momentum (0.99) needs hundreds of steps for the moving
        # statistics to leave their initial values; a from-scratch run here has a few
        # dozen, so the validation score would measure that warm-up (chance level).
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
    """How many numbers training changes in ``model``."""
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def ensemble_probabilities(member_probabilities: list[np.ndarray]) -> np.ndarray:
    """The ensemble's prediction: the mean of its members' class probabilities (n, classes)."""
    if len(member_probabilities) < 2:
        raise InputError("an ensemble needs at least 2 members")
    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in member_probabilities])
    return stacked.mean(axis=0).astype(np.float32)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of rows of ``probabilities`` whose largest entry is the label."""
    return float((np.argmax(probabilities, axis=1) == np.asarray(labels)).mean())


class _HeadTrainer:
    """Trains heads of one shape (input size, classes, hidden units, dropout) with Adam and
    sparse categorical cross-entropy, one compiled call per epoch.

    Why not ``head.compile(); head.fit()``: every new Keras model traces a new training
    function (seconds), and ``fit`` builds a tf.data iterator twice per epoch, while an
    epoch of a small MLP on a thousand cached vectors computes in milliseconds. So one
    trainer per shape keeps a head whose training step is traced once
    (``input_signature`` with a free batch axis: any number of images), and each new head
    is trained by loading its initial weights into it, training, and copying the weights
    back. The loop is the Keras guide's "training loop from scratch": mini-batches of a
    reshuffled order, ``training=True`` (dropout on), the mean loss and accuracy of the
    epoch weighted by batch size, as ``fit`` reports them. ``tf.function`` because Keras
    has no backend-neutral way to trace a whole training loop: this trainer needs the
    TensorFlow backend (the default), unlike ``fit_whole_model`` (plain ``compile`` and
    ``fit``) and mml7's segmentation and autoencoder training (tested under JAX too).
    """

    def __init__(self, input_dim: int, num_classes: int, hidden_units: int, dropout: float):
        import keras

        self.model = build_head(input_dim, num_classes, hidden_units, dropout)
        self.optimizer = keras.optimizers.Adam()
        self.optimizer.build(self.model.trainable_variables)
        self.lock = threading.Lock()
        self.loss_function = keras.losses.SparseCategoricalCrossentropy(reduction="sum")
        self.train_epoch, self.evaluate = self._traced_steps(input_dim)
        self.probabilities = self._traced_probabilities(input_dim)

    def _traced_steps(self, input_dim: int):
        """(train_epoch(x, y, order, batch_size), evaluate(x, y)), each returning the mean
        loss and the accuracy."""
        import tensorflow as tf

        model, optimizer, loss_function = self.model, self.optimizer, self.loss_function
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

        return train_epoch, evaluate

    def _traced_probabilities(self, input_dim: int):
        import tensorflow as tf

        model = self.model

        @tf.function(input_signature=[tf.TensorSpec([None, input_dim], tf.float32)])
        def probabilities(x):
            return model(x, training=False)

        return probabilities

    def _ensemble_logs(self, x, y, others: list) -> tuple[float, float]:
        """(cross-entropy, accuracy) on ``x`` of the mean of this head's probabilities
        and ``others`` (the other members' probabilities on the same images)."""
        mean = ensemble_probabilities([self.probabilities(x), *others])
        picked = np.clip(mean[np.arange(len(y)), y], 1e-7, 1.0)
        return float(-np.log(picked).mean()), accuracy(mean, y)

    def fit(
        self, head, x, y, config: ExperimentConfig, validation, callbacks, ensemble_with=None
    ) -> None:
        """Train ``head`` (built by ``build_head`` with this trainer's shape) in place.

        ``ensemble_with``: (the other members' probabilities on ``x``, and on the
        validation images), two lists; the logs are then the ensemble's (the mean of all
        members' probabilities, evaluated after each epoch), not this head's."""
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
            passes = head_passes(config, len(x))
            for epoch in range(config.head_epochs):
                callbacks.on_epoch_begin(epoch)
                order = np.concatenate([rng.permutation(len(x)) for _ in range(passes)])
                order = order.astype(np.int32)
                loss, acc = self.train_epoch(x, y, order, np.int32(config.head_batch_size))
                logs = {"loss": float(loss), "accuracy": float(acc)}
                if ensemble_with is not None:
                    train_loss, train_acc = self._ensemble_logs(x, y, ensemble_with[0])
                    logs = {"loss": train_loss, "accuracy": train_acc}
                if validation is not None and ensemble_with is not None:
                    val_loss, val_acc = self._ensemble_logs(*validation, ensemble_with[1])
                    logs.update(val_loss=val_loss, val_accuracy=val_acc)
                elif validation is not None:
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


def head_passes(config: ExperimentConfig, train_images: int) -> int:
    """Passes over the data per logged epoch of a head on ``train_images`` vectors: 1, or
    more when ``config.head_epochs`` single passes of batches of ``config.head_batch_size``
    would give fewer than ``config.head_min_steps`` optimiser steps (small data sets).
    The epochs stay ``config.head_epochs``: curves and progress keep their length."""
    per_pass = max(1, math.ceil(train_images / config.head_batch_size))
    return max(1, math.ceil(config.head_min_steps / (config.head_epochs * per_pass)))


def fit_head(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    num_classes: int,
    config: ExperimentConfig,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: list | None = None,
    ensemble_with: tuple[list, list] | None = None,
):
    """A new MLP head (``build_head``) trained on frozen (cached) features; returns it.
    TensorFlow backend only (the training loop is a ``tf.function``, see ``_HeadTrainer``).

    Adam at ``config.head_learning_rate``, ``config.head_epochs`` epochs of mini-batches
    of ``config.head_batch_size``, an epoch being ``head_passes`` shuffled passes (at least
    ``config.head_min_steps`` steps in all); ``callbacks`` get Keras's ``on_epoch_end(epoch, logs)``
    with loss, accuracy (and val_loss, val_accuracy with ``validation``). The same seed
    gives the same head. With ``ensemble_with`` (the other members' probabilities on the
    training and on the validation features) those logs are the ensemble's: the mean of
    every member's probabilities, this head's taken after each epoch.

    Args:
        train_features: float32 (n, d); train_labels: int (n,) in [0, num_classes).
    """
    key = (
        int(train_features.shape[1]),
        int(num_classes),
        int(config.hidden_units),
        float(config.dropout),
    )
    trainer = _head_trainer(key)
    with _HEAD_TRAINERS_LOCK:  # seeding is process-wide: one seeded build at a time
        set_seed(config.seed)
        head = build_head(*key)
    trainer.fit(head, train_features, train_labels, config, validation, callbacks, ensemble_with)
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
    fit it on preprocessed images ``x``: fine-tuning and training from scratch. Keras
    reads which layers are trainable at compile time, so set them first."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    set_seed(config.seed)
    model.fit(
        x,
        y,
        epochs=epochs,
        batch_size=config.batch_size,
        validation_data=validation,
        callbacks=callbacks or [],
        verbose=0,
    )

"""How well frozen features transfer, per cut depth: a linear probe and LogME.

A backbone cut after block k and average-pooled gives one feature vector per image; a
linear model on those vectors shows how much of the labels the frozen features already
hold. ``transferability`` scores every cut, ``recommended_cut`` picks the depth to cut at
and ``ensemble_cut`` its partner for an ensemble of heads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mml7 import backbones
from mml7.data import ImageDataset
from mml7.errors import InputError
from mml7.progress import Progress, step

if TYPE_CHECKING:
    from mml7.transfer.experiments import ExperimentConfig


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


def probe_model():
    """The linear probe: a logistic regression (C = 0.1) on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=300))


def linear_probe(features: np.ndarray, labels: np.ndarray, folds: int = 3, seed: int = 0) -> float:
    """Cross-validated accuracy of ``probe_model`` on the features."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    labels = np.asarray(labels)
    smallest = np.bincount(labels)[np.unique(labels)].min()
    folds = int(min(folds, smallest))
    if folds < 2:
        raise InputError("a cross-validated probe needs at least 2 images of each class")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(probe_model(), features, labels, cv=splitter).mean())


@dataclass(frozen=True)
class DepthScore:
    """Transferability of the frozen features at one cut depth."""

    cut: str
    dimensions: int
    probe_accuracy: float  # cross-validated linear-probe accuracy in [0, 1]
    logme: float  # LogME per sample (higher transfers better)


def transferability(
    features_by_cut: dict[str, np.ndarray], labels: np.ndarray, seed: int = 0
) -> list[DepthScore]:
    """Linear-probe accuracy and LogME of each cut's features, in the order given."""
    return [
        DepthScore(cut, int(f.shape[1]), linear_probe(f, labels, seed=seed), logme(f, labels))
        for cut, f in features_by_cut.items()
    ]


def depth_scores(
    dataset: ImageDataset,
    backbone: str,
    image_size: int,
    max_images: int | None,
    progress: Progress | None = None,
) -> list[DepthScore]:
    """``transferability`` at every cut of ``backbone``, on a stratified subsample of at
    most ``max_images`` images (seed 0), every cut's features from one forward pass: the
    page's per-depth scores."""
    from mml7.transfer.datasets import sample_indices

    picked = sample_indices(dataset.labels, max_images, seed=0)
    cuts = tuple(backbones.spec(backbone).cut_names)
    by_cut = backbones.extract_cut_features(
        dataset.images[picked], backbone, cuts, image_size, progress=progress
    )
    return transferability(by_cut, dataset.labels[picked])


def recommended_cut(scores: list[DepthScore]) -> str:
    """The depth to cut at: best probe accuracy; LogME breaks ties within 0.5 %."""
    best = max(score.probe_accuracy for score in scores)
    close = [score for score in scores if score.probe_accuracy >= best - 0.005]
    return max(close, key=lambda score: score.logme).cut


def middle_cut_note(scores: list[DepthScore], images: int) -> str | None:
    """The lecture's "partially reuse the extractor", when the data says so: a sentence
    with the numbers when the best earlier cut's probe beats the last cut's by more than
    max(1 point, 2 standard errors of an accuracy on ``images`` images); else None."""
    if len(scores) < 2 or images < 1:
        return None
    last = scores[-1]
    best = max(scores[:-1], key=lambda score: score.probe_accuracy)
    gain = best.probe_accuracy - last.probe_accuracy
    p = last.probe_accuracy
    if gain <= max(0.01, 2 * math.sqrt(max(p * (1 - p), 1e-12) / images)):
        return None
    return (
        f"A middle cut transfers better: the probe at {best.cut} scores "
        f"{best.probe_accuracy:.1%}, the last cut ({last.cut}) {last.probe_accuracy:.1%} "
        f"(+{gain:.1%} on {images:,} images). The last layers' features are ImageNet's own "
        "classes; earlier layers hold more generic edges and textures, so for data far from "
        "ImageNet the lecture's advice is to reuse the extractor only partially - cut it "
        "earlier and train the rest."
    )


def ensemble_cut(scores: list[DepthScore], cut: str) -> str:
    """The partner depth for the ensemble: the best-probing cut other than ``cut``."""
    others = [score for score in scores if score.cut != cut]
    if not others:
        return cut
    return max(others, key=lambda score: (score.probe_accuracy, score.logme)).cut


def dataset_features(
    dataset: ImageDataset,
    config: ExperimentConfig,
    cuts: tuple[str, ...],
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Frozen features (n, d) of every image at each cut, ``config``'s backbone and input
    size (what the page caches), all cuts from one forward pass."""
    label = f"features at {', '.join(dict.fromkeys(cuts))}: "
    return backbones.extract_cut_features(
        dataset.images,
        config.backbone,
        tuple(cuts),
        config.image_size,
        progress=step(progress, 0, 1, label),
    )

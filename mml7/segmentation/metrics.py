"""Segmentation scores from class masks: confusion counts, pixel accuracy, IoU, boundary F1.

Masks are integer arrays (n, h, w) or (h, w) of class indices; every score is a plain
float in [0, 1] (NaN for the IoU of a class in neither truth nor prediction).
"""

from __future__ import annotations

import numpy as np


def confusion(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixel counts (num_classes, num_classes): row = true class, column = predicted."""
    truth = np.asarray(truth).ravel().astype(np.int64)
    predicted = np.asarray(predicted).ravel().astype(np.int64)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth and prediction differ in size: {truth.size} vs {predicted.size}")
    return np.bincount(truth * num_classes + predicted, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def pixel_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Fraction of pixels whose predicted class is the true one."""
    return float(np.mean(np.asarray(truth) == np.asarray(predicted)))


def iou_per_class(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Intersection over union of each class over all pixels; NaN for a class that is in
    neither the truth nor the prediction."""
    counts = confusion(truth, predicted, num_classes).astype(np.float64)
    intersection = np.diag(counts)
    union = counts.sum(0) + counts.sum(1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / union, np.nan)


def mean_iou(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """Mean of ``iou_per_class`` over the classes present (in truth or prediction)."""
    return float(np.nanmean(iou_per_class(truth, predicted, num_classes)))


def boundaries(masks: np.ndarray) -> np.ndarray:
    """Bool (..., h, w): pixels whose class differs from their right or lower neighbour."""
    masks = np.asarray(masks)
    edge = np.zeros(masks.shape, dtype=bool)
    right = masks[..., :, 1:] != masks[..., :, :-1]
    down = masks[..., 1:, :] != masks[..., :-1, :]
    edge[..., :, :-1] |= right
    edge[..., :, 1:] |= right
    edge[..., :-1, :] |= down
    edge[..., 1:, :] |= down
    return edge


def _dilate(edges: np.ndarray, tolerance: int) -> np.ndarray:
    """Each True pixel grown to a (2 t + 1) square: 'within t pixels' (chessboard)."""
    from scipy import ndimage

    if tolerance == 0:
        return edges
    size = 2 * tolerance + 1
    footprint = np.ones((1,) * (edges.ndim - 2) + (size, size), dtype=bool)
    return ndimage.binary_dilation(edges, structure=footprint)


def boundary_f1(truth: np.ndarray, predicted: np.ndarray, tolerance: int = 2) -> float:
    """Boundary F1 score: how well the predicted class edges match the true ones.

    Precision is the fraction of predicted boundary pixels within ``tolerance`` pixels
    (chessboard distance) of a true boundary pixel, recall the fraction of true boundary
    pixels within ``tolerance`` of a predicted one; F1 is their harmonic mean, averaged
    over images. An image with no boundary in truth and prediction scores 1.

    Args:
        truth, predicted: int arrays (n, h, w) or (h, w) of class indices.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth {truth.shape} and prediction {predicted.shape} differ in shape")
    if truth.ndim == 2:
        truth, predicted = truth[None], predicted[None]
    true_edges, predicted_edges = boundaries(truth), boundaries(predicted)
    near_true, near_predicted = _dilate(true_edges, tolerance), _dilate(predicted_edges, tolerance)
    scores = []
    for t, p, nt, np_ in zip(true_edges, predicted_edges, near_true, near_predicted, strict=True):
        if not t.any() and not p.any():
            scores.append(1.0)
            continue
        precision = (p & nt).sum() / max(p.sum(), 1)
        recall = (t & np_).sum() / max(t.sum(), 1)
        total = precision + recall
        scores.append(0.0 if total == 0 else float(2 * precision * recall / total))
    return float(np.mean(scores))


def evaluate(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> dict:
    """Pixel accuracy, per-class IoU, mean IoU and boundary F1 (within 2 px, and within
    1 px: the stricter one tells sharp edges from blocky ones) as plain floats."""
    per_class = iou_per_class(truth, predicted, num_classes)
    return {
        "pixel_accuracy": pixel_accuracy(truth, predicted),
        "iou_per_class": [None if np.isnan(v) else float(v) for v in per_class],
        "mean_iou": float(np.nanmean(per_class)),
        "boundary_f1": boundary_f1(truth, predicted, tolerance=2),
        "boundary_f1_1px": boundary_f1(truth, predicted, tolerance=1),
    }

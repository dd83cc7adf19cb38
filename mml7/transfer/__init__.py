"""Transfer learning: the lecture's 2x2 advice, measured inputs, and experiments that check it.

The lecture ends transfer learning with a table: small data similar to ImageNet -> train
the last (MLP) layers on frozen features; big and similar -> fine-tune deeper layers; big
and not similar -> train from scratch; small and not similar -> collect more data. Here
both inputs are measured (images per class; ``imagenet_similarity`` from the ImageNet
classifier's own predictions), the transferability of frozen features is measured per cut
depth (linear probe and LogME), and ``run_experiments`` trains every strategy on the data
set so the advice can be checked against what actually worked best (``verdict``).

Submodules, one idea each: ``advice`` (the table), ``imagenet`` (similarity),
``transferability`` (probe, LogME, cuts), ``heads`` (models and their training),
``experiments`` (the strategies on a data set), ``verdict``, ``datasets``.
"""

from mml7 import backbones
from mml7.inference import predict
from mml7.transfer.advice import (
    BIG_THRESHOLD,
    SIMILARITY_THRESHOLD,
    Advice,
    Strategy,
    advise,
    images_per_class,
    recommend,
)
from mml7.transfer.datasets import (
    BUILTIN_DATASETS,
    load_dataset,
    read_path,
    sample_indices,
    split,
)
from mml7.transfer.experiments import (
    LEARNING_CURVE_FRACTIONS,
    ROW_STRATEGY,
    ExperimentConfig,
    ExperimentResult,
    learning_curve,
    run_experiments,
    run_with_learning_curves,
    training_split,
)
from mml7.transfer.heads import (
    accuracy,
    build_head,
    build_transfer_model,
    ensemble_probabilities,
    fit_head,
    fit_whole_model,
    head_passes,
    trainable_parameters,
    unfreeze_top_blocks,
)
from mml7.transfer.imagenet import (
    ENERGY_MIDPOINT,
    ENERGY_SCALE,
    SIMILARITY_BACKBONE,
    SIMILARITY_IMAGE_SIZE,
    energy_from_logits,
    imagenet_classifier,
    imagenet_outputs,
    imagenet_scores,
    imagenet_similarity,
    similarity_from_energy,
    similarity_from_logits,
)
from mml7.transfer.transferability import (
    DepthScore,
    dataset_features,
    depth_scores,
    ensemble_cut,
    linear_probe,
    logme,
    logme_evidence,
    middle_cut_note,
    recommended_cut,
    transferability,
)
from mml7.transfer.verdict import Verdict, accuracy_interval, scratch_note, verdict

__all__ = [
    "accuracy_interval",
    "BIG_THRESHOLD",
    "BUILTIN_DATASETS",
    "ENERGY_MIDPOINT",
    "ENERGY_SCALE",
    "LEARNING_CURVE_FRACTIONS",
    "ROW_STRATEGY",
    "SIMILARITY_BACKBONE",
    "SIMILARITY_IMAGE_SIZE",
    "SIMILARITY_THRESHOLD",
    "Advice",
    "DepthScore",
    "ExperimentConfig",
    "ExperimentResult",
    "Strategy",
    "Verdict",
    "accuracy",
    "advise",
    "backbones",
    "build_head",
    "build_transfer_model",
    "dataset_features",
    "energy_from_logits",
    "ensemble_cut",
    "ensemble_probabilities",
    "fit_head",
    "fit_whole_model",
    "head_passes",
    "imagenet_classifier",
    "imagenet_outputs",
    "imagenet_scores",
    "imagenet_similarity",
    "images_per_class",
    "learning_curve",
    "run_with_learning_curves",
    "linear_probe",
    "load_dataset",
    "logme",
    "logme_evidence",
    "predict",
    "read_path",
    "recommend",
    "depth_scores",
    "middle_cut_note",
    "recommended_cut",
    "run_experiments",
    "sample_indices",
    "similarity_from_energy",
    "similarity_from_logits",
    "split",
    "trainable_parameters",
    "training_split",
    "transferability",
    "unfreeze_top_blocks",
    "scratch_note",
    "verdict",
]

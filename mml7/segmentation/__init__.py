"""Semantic segmentation: a per-pixel softmax over a naive conv stack or an encoder-decoder
that unpools by nearest neighbour, bilinear, max unpooling or transposed convolution.

One idea per submodule, every public name re-exported here:

- ``models``: ``build_segmenter``, ``activation_bytes``, ``predict_classes``;
- ``metrics``: ``confusion``, ``pixel_accuracy``, ``iou_per_class``, ``mean_iou``,
  ``boundaries``, ``boundary_f1``, ``evaluate``;
- ``training``: ``train_segmenter``, ``compare_modes``, ``compare_on`` (a ``Comparison``),
  ``model_row``, ``make_dataset``, ``train_test_sets``;
- ``weights``: the shipped models per scene kind of ``SCENES`` (``pretrained``,
  ``train_shipped``, ``shipped_test_set``, ``weights_path``, ``shipped_summary``);
- ``uploads``: ``read_segmentation_upload``, ``split``, ``prepare_image``;
- ``timing``: ``measure_modes`` (every mode timed together, for the shipped table).

>>> model = build_segmenter((64, 64, 3), 4, unpooling="max")
>>> model.output_shape
(None, 64, 64, 4)
"""

from mml7.segmentation.metrics import (
    boundaries,
    boundary_f1,
    confusion,
    evaluate,
    iou_per_class,
    mean_iou,
    pixel_accuracy,
)
from mml7.segmentation.models import (
    BOTTLENECK_CONVS,
    UNPOOLING_MODES,
    WIDTHS,
    activation_bytes,
    build_segmenter,
    check_mode,
    predict_classes,
)
from mml7.segmentation.timing import measure_modes
from mml7.segmentation.training import (
    RETRAIN_DEFAULTS,
    Comparison,
    compare_modes,
    compare_on,
    inference_ms_per_image,
    majority_row,
    make_dataset,
    model_row,
    train_segmenter,
    train_test_sets,
)
from mml7.segmentation.uploads import (
    MAX_UPLOAD_CLASSES,
    prepare_image,
    read_segmentation_upload,
    split,
)
from mml7.segmentation.weights import (
    SCENES,
    TRAIN_COMMAND,
    TRAIN_ORDER,
    precompute_predictions,
    pretrained,
    remeasure,
    shipped_predictions,
    shipped_rows,
    shipped_summary,
    shipped_test_set,
    train_shipped,
    weights_path,
)

__all__ = [
    "BOTTLENECK_CONVS",
    "Comparison",
    "MAX_UPLOAD_CLASSES",
    "RETRAIN_DEFAULTS",
    "SCENES",
    "TRAIN_COMMAND",
    "TRAIN_ORDER",
    "UNPOOLING_MODES",
    "WIDTHS",
    "activation_bytes",
    "boundaries",
    "boundary_f1",
    "build_segmenter",
    "check_mode",
    "compare_modes",
    "compare_on",
    "confusion",
    "evaluate",
    "inference_ms_per_image",
    "iou_per_class",
    "majority_row",
    "make_dataset",
    "mean_iou",
    "measure_modes",
    "model_row",
    "pixel_accuracy",
    "predict_classes",
    "prepare_image",
    "precompute_predictions",
    "pretrained",
    "remeasure",
    "shipped_predictions",
    "shipped_rows",
    "read_segmentation_upload",
    "shipped_summary",
    "shipped_test_set",
    "split",
    "train_segmenter",
    "train_shipped",
    "train_test_sets",
    "weights_path",
]

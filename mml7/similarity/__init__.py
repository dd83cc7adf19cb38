"""Similar images: nearest neighbours in a representation, and how well each retrieves.

An autoencoder's code or a pretrained CNN's features put similar images near each other,
so the nearest neighbours of an image in code space are images that look alike. The
package has one idea per module:

- ``index``: the search, ``SimilarImageIndex`` (shaped like scikit-learn's
  ``NearestNeighbors``), exact or approximate (FAISS HNSW), and its recall;
- ``representations``: images -> vectors behind one ``fit`` / ``transform`` shape, found
  by name in ``REPRESENTATIONS`` (none of them uses a label);
- ``scores``: precision@k and mean average precision with each gallery image as a
  leave-one-out query, and a logistic-regression probe trained on a few labels;
- ``galleries``: the galleries, uploaded queries, thumbnails and gallery pages.

Every public name is importable from ``mml7.similarity`` itself.

>>> import numpy as np
>>> index = SimilarImageIndex(metric="euclidean", n_neighbors=1).fit(np.eye(3))
>>> index.kneighbors(np.array([[0.9, 0.1, 0.0]]))[1]
array([[0]])
"""

from mml7.similarity.galleries import (
    GALLERIES,
    UPLOAD_IMAGE_SIZE,
    gallery_page,
    load_gallery,
    page_count,
    prepare_query,
    read_gallery_upload,
    thumbnail,
)
from mml7.similarity.index import (
    ALGORITHMS,
    METRICS,
    SINGLE_THREAD_WORK,
    WORKING_MEMORY_BYTES,
    SimilarImageIndex,
    approximate_backend_available,
    hnsw_recall,
    query_sample,
    recall_at_k,
)
from mml7.similarity.representations import (
    IMAGENET_SIZE,
    PCA_COMPONENTS,
    REPRESENTATIONS,
    AutoencoderCodes,
    ImageNetFeatures,
    PCACodes,
    Pixels,
    Representation,
    RepresentationSpec,
    fit_representation,
    representation_status,
    to_grey,
)
from mml7.similarity.scores import (
    average_precision,
    comparison_tables,
    few_label_probe,
    labelled_subset,
    precision_at_k,
    retrieval_scores,
)

__all__ = [
    "ALGORITHMS",
    "GALLERIES",
    "IMAGENET_SIZE",
    "METRICS",
    "PCA_COMPONENTS",
    "REPRESENTATIONS",
    "SINGLE_THREAD_WORK",
    "UPLOAD_IMAGE_SIZE",
    "WORKING_MEMORY_BYTES",
    "AutoencoderCodes",
    "ImageNetFeatures",
    "PCACodes",
    "Pixels",
    "Representation",
    "RepresentationSpec",
    "SimilarImageIndex",
    "approximate_backend_available",
    "average_precision",
    "comparison_tables",
    "few_label_probe",
    "fit_representation",
    "gallery_page",
    "hnsw_recall",
    "labelled_subset",
    "load_gallery",
    "page_count",
    "precision_at_k",
    "prepare_query",
    "query_sample",
    "read_gallery_upload",
    "recall_at_k",
    "representation_status",
    "retrieval_scores",
    "thumbnail",
    "to_grey",
]

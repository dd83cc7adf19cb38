"""The page list, written once: the router, Home's cards, the tests and the benches read it.

No Streamlit import here, so benches and tests can read it without starting an app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Page:
    """One page of the dashboard.

    Attributes:
        script: path of its script, relative to the project root (``pages/home.py``).
        title: its name in the sidebar and on Home.
        icon: a Material icon (``:material/home:``).
        summary: what it teaches, one paragraph for Home's card ("" for Home itself).
    """

    script: str
    title: str
    icon: str
    summary: str = ""

    @property
    def path(self) -> Path:
        return ROOT / self.script

    @property
    def url_path(self) -> str:
        """Its address: the script's file name (``/transfer_learning``). A fresh server
        answers its first request in Streamlit's legacy ``pages/`` mode, which knows pages
        only by file name and shows "Page not found" for any other address."""
        return Path(self.script).stem


PAGES = (
    Page("pages/home.py", "Home", ":material/home:"),
    Page(
        "pages/transfer_learning.py",
        "Transfer-learning advisor",
        ":material/school:",
        "The lecture's 2x2 table (small/big data x similar/not similar to ImageNet), made "
        "real: it measures your data set, runs the strategies (frozen extractor + new head, "
        "fine-tuning, from scratch, an ensemble) and checks its own advice.",
    ),
    Page(
        "pages/segmentation.py",
        "Segmentation & unpooling",
        ":material/grid_on:",
        "Per-pixel classification with no pooling vs encoder-decoders that unpool by nearest "
        "neighbour, max unpooling or transposed convolution: step by step on a 4x4 input, and "
        "compared by IoU on real training runs.",
    ),
    Page(
        "pages/autoencoders.py",
        "Autoencoders",
        ":material/compress:",
        "Rank-k SVD of a photo, a linear autoencoder that *is* PCA, deep and denoising "
        "autoencoders, the latent space and morphing between images.",
    ),
    Page(
        "pages/similar_images.py",
        "Similar images",
        ":material/image_search:",
        "Nearest neighbours by codes, and how much better each representation retrieves than "
        "raw pixels - learned without labels.",
    ),
)


def pages() -> list[Page]:
    """The pages whose scripts exist, Home first."""
    return [page for page in PAGES if page.path.exists()]

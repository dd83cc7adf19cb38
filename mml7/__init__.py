"""mml7: transfer learning, segmentation with unpooling, and autoencoders in Keras.

The library behind the mml7 dashboard; it never imports streamlit, so it works the
same in a notebook:

>>> import mml7
>>> ds = mml7.data.digits()
>>> ds.images.shape
(1797, 8, 8, 1)
"""

from mml7 import data
from mml7.errors import DatasetUnavailable, InputError

__all__ = ["DatasetUnavailable", "InputError", "data"]
__version__ = "0.1.0"

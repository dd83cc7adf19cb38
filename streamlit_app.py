"""mml7 dashboard: the router. Each page is a script in pages/."""

from pathlib import Path

import streamlit as st

import app_ui

HERE = Path(__file__).parent

# (script, title, icon); a page appears once its script exists. Its address is its
# script's file name (/transfer_learning): a server's first request runs in Streamlit's
# legacy pages/ mode, which knows pages only by file name and shows "Page not found" for
# any other address.
PAGES = [
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/transfer_learning.py", "Transfer-learning advisor", ":material/school:"),
    ("pages/segmentation.py", "Segmentation & unpooling", ":material/grid_on:"),
    ("pages/autoencoders.py", "Autoencoders", ":material/compress:"),
    ("pages/similar_images.py", "Similar images", ":material/image_search:"),
]

app_ui.return_big_blocks_to_the_os()
st.set_page_config(page_title="mml7: transfer learning, segmentation, autoencoders", layout="wide")
pages = [
    st.Page(str(HERE / script), title=title, icon=icon, url_path=Path(script).stem, default=i == 0)
    for i, (script, title, icon) in enumerate(PAGES)
    if (HERE / script).exists()
]
st.navigation(pages).run()

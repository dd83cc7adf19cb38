"""Home: what each page teaches, and what this machine has."""

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

import app_cache
import app_ui

app_ui.use_router()

st.title("mml7: transfer learning, other CNN tasks and autoencoders")
st.markdown(
    "An interactive companion to the lecture. Every claim on the slides is something you "
    "can run, measure and look at here."
)

HERE = Path(__file__).parent
PAGES = [
    (
        "transfer_learning.py",
        "Transfer-learning advisor",
        "The lecture's 2x2 table (small/big data x similar/not similar to ImageNet), made "
        "real: it measures your data set, runs the strategies (frozen extractor + new head, "
        "fine-tuning, from scratch, an ensemble) and checks its own advice.",
    ),
    (
        "segmentation.py",
        "Segmentation & unpooling",
        "Per-pixel classification with no pooling vs encoder-decoders that unpool by nearest "
        "neighbour, max unpooling or transposed convolution: step by step on a 4x4 input, and "
        "compared by IoU on real training runs.",
    ),
    (
        "autoencoders.py",
        "Autoencoders",
        "Rank-k SVD of a photo, a linear autoencoder that *is* PCA, deep and denoising "
        "autoencoders, the latent space and morphing between images.",
    ),
    (
        "similar_images.py",
        "Similar images",
        "Nearest neighbours by codes, and how much better each representation retrieves than "
        "raw pixels - learned without labels.",
    ),
]
columns = st.columns(2)
for i, (script, title, text) in enumerate(PAGES):
    with columns[i % 2].container(border=True):
        st.markdown(f"**{title}**  \n{text}")
        try:
            st.page_link(str(HERE / script), label=f"Open {title}", icon=":material/arrow_forward:")
        except StreamlitAPIException:  # run on its own, without the router's page list
            st.caption(f"Open *{title}* from the sidebar.")

st.subheader("This machine")
rows = app_cache.machine_status()
colours = {"found": "#d4edda", "will download": "#fff3cd", "unavailable": "#f8d7da"}
table = pd.DataFrame(
    {
        "resource": [row.name for row in rows],
        "kind": [row.kind for row in rows],
        "state": [row.state for row in rows],
        "where / how to get it": [row.detail for row in rows],
    }
)
st.dataframe(
    table.style.map(lambda state: f"background-color: {colours[state]}", subset=["state"]),
    hide_index=True,
    width="stretch",
    height=35 * (len(table) + 1) + 3,  # every row visible, no inner scrolling
    column_config={"where / how to get it": st.column_config.TextColumn(width="large")},
)
missing = [row for row in rows if row.state == "unavailable"]
if missing:
    st.info(
        "Some resources are unavailable offline; pages that need them say so and offer "
        "the rest. " + " ".join(row.detail for row in missing if row.kind == "dataset")
    )

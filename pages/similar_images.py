"""Similar images: nearest neighbours in code space, and which representation retrieves best."""

import streamlit as st

from app import similarity_parts as parts
from app import widgets
from app.caches import similarity as cached
from app.names import plain
from mml7 import DatasetUnavailable, InputError, similarity

QUERY_COUNTS = {"1,000 queries": 1000, "every image (slower)": None}

st.title("Similar images")
st.markdown(
    "An autoencoder's code, or a pretrained CNN's features, puts similar images near each "
    "other, so an image's nearest neighbours in code space look like it. Click an image of "
    "the gallery (or upload one) to see its neighbours. Below, every representation answers "
    "the same queries: how many of the 10 nearest share the query's class (precision@10), "
    "how well the whole ranking does (mean average precision), and how well a logistic "
    "regression does with only 10 or 100 labelled images per class. No representation "
    "used a label to learn."
)

gallery_column, representation_column, search_column, count_column = st.columns([2, 2, 2, 1])
name, upload = widgets.dataset_or_zip(
    gallery_column,
    "Gallery",
    similarity.GALLERIES,
    "gallery",
    "gallery_upload",
    help="A .zip of images; its top-level folders, if any, are their classes.",
)
lesson_area = st.container()  # filled once the comparison below is measured
try:
    gallery = cached.gallery(name, upload)
except (InputError, DatasetUnavailable) as error:
    st.error(str(error))  # nothing below can run without a gallery
    st.stop()
source = (name, upload)
widgets.show_skipped(gallery.skipped)

status = {rep: similarity.representation_status(rep) for rep in similarity.REPRESENTATIONS}
slow_ok = representation_column.toggle(
    "Include ImageNet features (slow)",
    key="imagenet",
    help="MobileNet (alpha 0.25) features at 96 px: many seconds per 10,000 images on a "
    "CPU (bench/similarity.py times it); a bar shows the progress.",
)
usable = [
    rep
    for rep, reason in status.items()
    if reason is None and (slow_ok or not similarity.REPRESENTATIONS[rep].slow)
]
representation = representation_column.selectbox("Representation", usable, key="representation")
metric = search_column.radio("Distance", similarity.METRICS, key="metric", horizontal=True)
searches = ["exact"] + (["hnsw"] if similarity.approximate_backend_available() else [])
algorithm = search_column.radio("Search", searches, key="algorithm", horizontal=True)
k = count_column.number_input("Neighbours", 1, 24, 8, key="k")
for rep, reason in status.items():
    if reason is not None:
        st.caption(f"**{rep}**: {reason}")


st.session_state.setdefault("query", 0)
st.session_state.setdefault("query_from", "gallery")
st.session_state.query = min(st.session_state.query, len(gallery) - 1)

st.subheader("Query and its nearest neighbours")
query_area = st.container()  # drawn after the gallery, which may change the query
if algorithm == "hnsw":
    recall = cached.recall(representation, metric, *source)
    st.caption(f"HNSW (FAISS) recall@10 against exact search on this gallery: {recall:.3f}")

pages = similarity.page_count(len(gallery), parts.COLUMNS * parts.ROWS)
st.subheader(f"Gallery: {plain(gallery.name)}, {len(gallery):,} images")
if st.session_state.get("gallery_page", 1) > pages:
    st.session_state.gallery_page = 1  # a smaller gallery was chosen
page = st.number_input(f"Page (of {pages:,})", 1, pages, 1, key="gallery_page")
parts.gallery_grid(gallery, int(page))

with query_area:
    try:
        parts.query_block(gallery, source, representation, metric, algorithm, int(k))
    except InputError as error:  # the representation cannot be computed here
        st.error(str(error))

st.subheader("Which representation retrieves best?")
count_label = st.radio("Queries", list(QUERY_COUNTS), key="num_queries", horizontal=True)
try:
    table = parts.comparison_block(usable, metric, QUERY_COUNTS[count_label], source)
except InputError as error:
    st.error(str(error))
else:
    with lesson_area:
        widgets.lesson(
            "Поиск похожих картинок / Let's compare the codes! - no labels needed "
            "(Нам не нужны размеченные данные!)",
            parts.takeaway(table),
        )

"""Similar images: nearest neighbours in code space, and which representation retrieves best."""

import streamlit as st

from app import widgets
from app.caches import similarity as cached
from mml7 import DatasetUnavailable, InputError, similarity
from mml7.plots import similarity as figures

PER_PAGE, COLUMNS = 24, 8
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
    gallery_column, "Gallery", similarity.GALLERIES, "gallery", "gallery_upload"
)
try:
    gallery = cached.gallery(name, upload)
except (InputError, DatasetUnavailable) as error:
    st.error(str(error))
    st.stop()
source = (name, upload)
widgets.show_skipped(gallery.skipped)

status = {rep: similarity.representation_status(rep) for rep in similarity.REPRESENTATIONS}
slow_ok = representation_column.toggle(
    "Include ImageNet features (slow)",
    key="imagenet",
    help="MobileNet (alpha 0.25) at 96 px: about 20 s per 10,000 images on 2 free cores.",
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


def pick(index: int) -> None:
    st.session_state.query, st.session_state.query_from = index, "gallery"


st.session_state.setdefault("query", 0)
st.session_state.setdefault("query_from", "gallery")
st.session_state.query = min(st.session_state.query, len(gallery) - 1)
try:
    vectors = cached.vectors(representation, *source)
except InputError as error:
    st.error(str(error))
    st.stop()

st.subheader("Query and its nearest neighbours")
query_file = st.file_uploader(
    "Upload a query image (resized and converted like the gallery)",
    type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
    key="query_upload",
    on_change=lambda: st.session_state.update(query_from="upload"),
)
index = cached.index(representation, metric, algorithm, *source)
if query_file is not None and st.session_state.query_from == "upload":
    try:
        query_image = similarity.prepare_query(
            query_file.name, query_file.getvalue(), gallery.images
        )
    except InputError as error:
        st.error(str(error))
        st.stop()
    fitted = cached.representation(representation, *source)
    distances, found = index.kneighbors(fitted.transform(query_image), int(k))
    title = f"uploaded {query_file.name}"
else:
    chosen = st.session_state.query
    query_image = gallery.images[[chosen]]
    distances, found = index.kneighbors(vectors[[chosen]], int(k), exclude=[chosen])
    title = f"gallery #{chosen} ({gallery.class_names[gallery.labels[chosen]]})"
query_column, neighbours_column = st.columns([1, 7])
query_column.image(similarity.thumbnail(query_image[0], 112), caption=f"query: {title}")
neighbours_column.image(
    [similarity.thumbnail(gallery.images[i]) for i in found[0]],
    caption=[
        f"{gallery.class_names[gallery.labels[i]]} · {d:.3f}"
        for i, d in zip(found[0], distances[0], strict=True)
    ],
    width=96,
)
st.caption(f"Under each neighbour: its class · its {metric} distance to the query.")
if algorithm == "hnsw":
    recall = cached.recall(representation, metric, *source)
    st.caption(f"HNSW (FAISS) recall@10 against exact search on this gallery: {recall:.3f}")

pages = similarity.page_count(len(gallery), PER_PAGE)
st.subheader(f"Gallery: {gallery.name}, {len(gallery):,} images")
if st.session_state.get("gallery_page", 1) > pages:
    st.session_state.gallery_page = 1  # a smaller gallery was chosen
page = st.number_input(f"Page (of {pages:,})", 1, pages, 1, key="gallery_page")
for items in similarity.gallery_page(len(gallery), int(page), PER_PAGE, COLUMNS):
    for column, i in zip(st.columns(COLUMNS), items, strict=False):
        column.image(similarity.thumbnail(gallery.images[i]), width=84)
        column.button(f"#{i}", key=f"pick_{i}", on_click=pick, args=(i,))

st.subheader("Which representation retrieves best?")
count_label = st.radio("Queries", list(QUERY_COUNTS), key="num_queries", horizontal=True)
retrieval, probes = {}, {}
for rep in usable:
    cached.vectors(rep, *source)  # with a progress bar when new
    retrieval[rep] = cached.scores(rep, metric, QUERY_COUNTS[count_label], *source)
    probes[rep] = cached.probe(rep, *source)
table, probe = similarity.comparison_tables(retrieval, probes)
left, right = st.columns(2)
left.plotly_chart(figures.retrieval_figure(table, metric), key="retrieval_chart")
if len(probe):
    right.plotly_chart(figures.probe_figure(probe), key="probe_chart")
    right.caption(
        "Logistic regression on 10 or 100 labelled gallery images per class (3 draws), "
        f"tested on the rest of the gallery ({probe['test_size'].min():,}+ images)."
    )
else:
    right.info("The probe needs at least 11 images in every class of the gallery.")
st.dataframe(table.style.format(precision=3), key="retrieval_table")

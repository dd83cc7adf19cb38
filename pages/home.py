"""Home: what each page teaches, and what this machine has."""

import pandas as pd
import streamlit as st

from app import registry
from app.caches import common

st.title("mml7: transfer learning, other CNN tasks and autoencoders")
st.markdown(
    "An interactive companion to the lecture. Every claim on the slides is something you "
    "can run, measure and look at here."
)

columns = st.columns(2)
for i, page in enumerate(p for p in registry.pages() if p.summary):
    with columns[i % 2].container(border=True):
        st.markdown(f"**{page.title}**  \n{page.summary}")
        st.page_link(page.path, label=f"Open {page.title}", icon=":material/arrow_forward:")

st.subheader("This machine")
rows = common.machine_status()
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

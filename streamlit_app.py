"""mml7 dashboard: the router. The page list is app.registry.PAGES; each page is a script
in pages/. Importing ``app`` keeps this router in charge of every page (app/router.py)."""

import streamlit as st

from app import registry, router

router.return_big_blocks_to_the_os()
st.set_page_config(page_title="mml7: transfer learning, segmentation, autoencoders", layout="wide")
pages = [
    st.Page(page.path, title=page.title, icon=page.icon, url_path=page.url_path, default=i == 0)
    for i, page in enumerate(registry.pages())
]
st.navigation(pages).run()
router.freeze_long_lived_objects()

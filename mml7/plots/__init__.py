"""Plotly figures for each feature, UI-free (they work in a notebook as on a page).

Rendering only: each function takes computed arrays or records and returns a
``plotly.graph_objects.Figure`` (or an image array for ``st.image``); whatever needs
computing is done by the library modules first. One module per feature:
``mml7.plots.transfer``, ``mml7.plots.segmentation``, ``mml7.plots.autoencoders``,
``mml7.plots.similarity``.
"""

"""The dashboard's app layer: everything that knows Streamlit, beside the UI-free ``mml7``.

- ``registry``: the page list, read by the router, Home, the tests and the benches.
- ``router``: process set-up and the one touch of Streamlit internals (keeping the router
  in charge of a fresh server's first deep link); ``streamlit_app.py`` calls it.
- ``widgets``: progress bars, the data-set-or-upload chooser, lazy tabs, messages.
- ``cache``: the cache decorators (shared objects checked for mutation under test) and
  ``Upload``, an uploaded file keyed by a digest computed once.
- ``caches``: the cached calls into ``mml7``, one module per feature.

Importing this package chooses the server's Keras backend (``router.choose_keras_backend``,
before anything imports Keras) and keeps the router in charge (see ``router.keep_router_in_charge``):
every page imports it first, so no page has to remember to.
"""

from app import router

router.choose_keras_backend()
router.keep_router_in_charge()

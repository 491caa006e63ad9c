"""The API's routes, one module per feature, as the bot's handlers are:

- `translate`: the async API (submit texts; a job's result, long-poll, events, cancel).
- `documents`: upload a document, download its translation.
- `libre`: LibreTranslate's endpoints (`deeplx`: the DeepLX body its `/translate` takes).
- `deepl` and `deepl_documents`: DeepL's API v2, under each base URL its clients use.
- `web`: the page (the Mini App) and the calls only it makes.
- `health`: `/health`.

Routes are thin: what they need comes through `Depends` (`api.deps`).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.deepl_common import PREFIXES
from api.routes import deepl, deepl_documents, documents, health, libre, translate, web


def include(app: FastAPI) -> None:
    """Every route, in the order they are matched (no two share a path and method)."""
    app.include_router(translate.router)
    app.include_router(documents.router)
    app.include_router(libre.router)
    app.include_router(health.router)
    for prefix in PREFIXES:  # DeepL's API, under each base URL clients use
        shown = prefix == PREFIXES[0]
        app.include_router(deepl.router, prefix=prefix, include_in_schema=shown)
        app.include_router(deepl_documents.router, prefix=prefix, include_in_schema=shown)
    app.include_router(deepl.root)
    app.include_router(deepl_documents.router, include_in_schema=False)
    app.include_router(web.router)

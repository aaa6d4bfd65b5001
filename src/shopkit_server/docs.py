"""Swagger UI (``/docs``) and ReDoc (``/redoc``) served from the installed package, no CDN.

The JavaScript and CSS come from the ``fastapi-offline`` package (Swagger UI: Apache-2.0,
ReDoc: MIT), which ships them as package data; ReDoc is told not to load Google Fonts. Both
pages therefore render with the network cut off.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"


def install_docs(
    app: FastAPI, *, openapi_url: str = "/openapi.json", prefix: str = "", title: str = ""
) -> None:
    """``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and their assets, under ``prefix``."""
    title = title or app.title
    assets = f"{prefix}{ASSETS_URL}"
    app.mount(assets, StaticFiles(directory=ASSETS), name=f"docs-assets{prefix}")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}{prefix}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets}/favicon.png",
        )

    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{assets}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route(f"{prefix}/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(
        f"{prefix}/docs/oauth2-redirect",
        swagger_redirect,
        methods=["GET"],
        include_in_schema=False,
    )
    app.add_api_route(f"{prefix}/redoc", redoc, methods=["GET"], include_in_schema=False)

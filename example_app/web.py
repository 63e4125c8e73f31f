"""The example service's browser side: the demo page and API docs that work offline.

FastAPI's default ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a
public CDN. Here they load the copies committed under ``vendor/`` at the top of
the repository (swagger-ui-dist 5 and redoc 2 from npm, with their licences; kept
apart from our own code), so the demo works with no internet access.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = Path(__file__).resolve().parent.parent / "vendor"
SWAGGER = "/static/vendor/swagger-ui"
REDOC = "/static/vendor/redoc"


def install(app: FastAPI) -> None:
    """Serve the demo page at ``/`` and offline Swagger UI and ReDoc at ``/docs`` and ``/redoc``.

    The app must be built with ``docs_url=None, redoc_url=None``.
    """
    app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="vendor")  # before /static: mounts match in order
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = "/docs/oauth2-redirect"

    @app.get("/", include_in_schema=False)
    async def demo_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url=oauth2_redirect_url,
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            with_google_fonts=False,
        )

"""/docs and /redoc load nothing from the network: every asset is served by the package."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_docs_pages_use_only_local_assets(app: FastAPI) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
            urls += re.findall(r"""url: ?["']([^"']+)["']""", html)
            assert urls, page
            assert not [u for u in urls if "//" in u], (page, urls)  # no CDN, no fonts
            assets = [u for u in urls if u.startswith("/docs-assets/")]
            assert assets, page
            for asset in assets:
                reply = await client.get(asset)
                assert reply.status_code == 200, asset
                assert len(reply.content) > 1000, asset
                assert reply.headers["cache-control"] == "public, max-age=86400"
        assert "/openapi.json" in (await client.get("/docs")).text
        assert (await client.get("/openapi.json")).status_code == 200

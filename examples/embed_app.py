"""A FastAPI app of your own, serving shopkit's products and cart under /shop.

    SHOPKIT_JWT_SECRET_KEY=... uvicorn --app-dir examples embed_app:app

Settings come from the usual SHOPKIT_ environment (SHOPKIT_DATABASE_URL, ...). Without the auth
service, the cart accepts access tokens signed with SHOPKIT_JWT_SECRET_KEY by the shopkit auth
service you run elsewhere (or by your own code, see shopkit_server.security.TokenCodec).
"""

from __future__ import annotations

from fastapi import FastAPI

from shopkit_server.embed import Shop

app = FastAPI(title="my shop front")
shop = Shop(services=["products", "cart"])
shop.include_in(app, prefix="/shop")  # or: shop.mount_in(app, "/shop"), a whole sub-app


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}

"""``shopkit api METHOD PATH``: a raw call with the saved credentials, like ``gh api``.

The path is relative to the API root (``/products``, ``/auth/me``); the answer's JSON body is
printed indented on stdout with every number exactly as the server wrote it (money stays
``209.98``, never a float's ``209.97999...``). The SDK sends it, so tokens are refreshed and
saved and idempotent calls retried as for every other command; a non-2xx answer is the usual
one error line and exit 1.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from shopkit_cli.output import EXIT_USAGE, fail, info
from shopkit_cli.params import examples
from shopkit_cli.session import async_command, open_client

EXAMPLES = examples(
    "shopkit api GET /auth/me",
    "shopkit api GET '/products?category=Audio&page_size=5'",
    "shopkit api PATCH /products/PRODUCT_ID --data '{\"stock\": 12}'",
    "shopkit api POST /products/bulk --data @rows.json",
    'echo \'{"name": "Toys"}\' | shopkit api POST /categories --data -',
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@async_command
async def api(
    method: Annotated[
        str, typer.Argument(help="GET, POST, PUT, PATCH or DELETE.", show_default=False)
    ],
    path: Annotated[
        str,
        typer.Argument(
            help="Path under the API root, e.g. /products (a query string may follow).",
            show_default=False,
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="JSON body: the text itself, @FILE to read a file, or - to read stdin.",
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="Extra header 'Name: value' (repeatable)."),
    ] = None,
    include: Annotated[
        bool,
        typer.Option("--include", "-i", help="Also print the status line and headers (stderr)."),
    ] = False,
    anonymous: Annotated[
        bool, typer.Option("--no-auth", help="Send no credentials (a public endpoint).")
    ] = False,
) -> None:
    """Call any endpoint with the saved credentials and print the JSON answer."""
    verb = method.upper()
    if verb not in METHODS:
        fail(f"unknown method {method!r}: use one of {', '.join(METHODS)}", EXIT_USAGE)
    if not path.startswith("/"):
        path = "/" + path
    if "://" in path:
        fail(
            "give a path under the API root (e.g. /products), not a URL; --base-url picks the shop",
            EXIT_USAGE,
        )
    body = _body(data) if data is not None else None
    headers = dict(_header(h) for h in header or [])
    async with open_client(login_required=False) as client:
        kwargs: dict[str, Any] = {"headers": headers, "authenticated": not anonymous}
        if data is not None:
            kwargs["json"] = body
        response = await client.request(verb, path, **kwargs)
    if include:
        info(f"HTTP {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            info(f"{name}: {value}")
    if not response.content:
        return
    try:
        parsed = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        typer.echo(response.text, nl=not response.text.endswith("\n"))
        return
    typer.echo(pretty_json(parsed))


def _body(data: str) -> Any:
    if data == "-":
        text = sys.stdin.read()
    elif data.startswith("@"):
        try:
            text = Path(data[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"--data: cannot read {data[1:]}: {exc.strerror or exc}", EXIT_USAGE)
    else:
        text = data
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        fail(f"--data is not JSON: {exc}", EXIT_USAGE)


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        fail(f"-H {text!r}: write a header as 'Name: value'", EXIT_USAGE)
    return name.strip(), value.strip()


def pretty_json(value: Any, indent: str = "") -> str:
    """Indented JSON with Decimals written with their own digits (json.dumps has no way)."""
    inner = indent + "  "
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict) and value:
        items = (
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {pretty_json(v, inner)}"
            for k, v in value.items()
        )
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(inner + pretty_json(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value, ensure_ascii=False)

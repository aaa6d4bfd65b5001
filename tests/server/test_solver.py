"""The route plan (solver.py) solves requests as FastAPI does, and leaves the rest to FastAPI.

A small app with shopkit's route class: every reply is compared with what FastAPI's own solver
gives for the same request (the app built again with the plan switched off), and the plan's
use is made visible by counting FastAPI's ``solve_dependencies`` calls.
"""

# No `from __future__ import annotations`: FastAPI must see the local dependencies the
# test routes name in their annotations.
import functools
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import fastapi
import httpx
import pytest
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi import routing as fastapi_routing
from pydantic import BaseModel, Field, field_validator

from shopkit_server import routing, solver
from shopkit_server.routing import ShopRouter


class Item(BaseModel):
    name: str = Field(min_length=1)
    quantity: int = Field(ge=1)


def build_router(calls: list[str]) -> ShopRouter:
    async def counted(request: Request) -> str:
        calls.append("counted")
        return request.url.path

    async def uncached() -> int:
        calls.append("uncached")
        return len(calls)

    async def needs_counted(
        path: Annotated[str, Depends(counted)],
        again: Annotated[int, Depends(uncached, use_cache=False)],
    ) -> str:
        calls.append("needs_counted")
        return f"{path}:{again}"

    async def with_yield() -> AsyncIterator[str]:
        calls.append("yield")
        yield "from a generator"

    router = ShopRouter(prefix="/things")

    @router.post("/{thing_id}", status_code=201)
    async def create(
        thing_id: str,
        item: Item,
        first: Annotated[str, Depends(counted)],
        second: Annotated[str, Depends(needs_counted)],
        again: Annotated[int, Depends(uncached, use_cache=False)],
        x_tag: Annotated[str | None, Header(max_length=5)] = None,
    ) -> dict[str, Any]:
        return {
            "thing_id": thing_id,
            "item": item.model_dump(),
            "first": first,
            "second": second,
            "again": again,
            "tag": x_tag,
        }

    @router.get("/plain/{number}")
    async def plain(number: int, limit: int = 10) -> dict[str, int]:
        return {"number": number, "limit": limit}

    @router.delete("/{thing_id}", status_code=204)
    async def delete(thing_id: str) -> None:
        calls.append(f"deleted {thing_id}")

    @router.get("/generated")
    async def generated(value: Annotated[str, Depends(with_yield)]) -> dict[str, str]:
        return {"value": value}

    return router


def build_app(calls: list[str]) -> FastAPI:
    app = FastAPI()
    app.include_router(build_router(calls))
    return app


@pytest.fixture
def solve_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many times FastAPI's own solver ran (once per request it solved)."""
    count: list[int] = []
    original = fastapi_routing.solve_dependencies

    async def counting(**kwargs: Any) -> Any:
        count.append(1)
        return await original(**kwargs)

    monkeypatch.setattr(fastapi_routing, "solve_dependencies", counting)
    yield count


async def send(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


async def both(
    monkeypatch: pytest.MonkeyPatch, method: str, path: str, **kwargs: Any
) -> tuple[tuple[httpx.Response, list[str]], tuple[httpx.Response, list[str]]]:
    """The same request through an app with plans and through one without."""
    planned_calls: list[str] = []
    planned = await send(build_app(planned_calls), method, path, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(routing, "compile_route", lambda route: None)
        plain_calls: list[str] = []
        unplanned = await send(build_app(plain_calls), method, path, **kwargs)
    return (planned, planned_calls), (unplanned, plain_calls)


async def test_a_valid_request_is_solved_by_the_plan_exactly_as_fastapi_solves_it(
    monkeypatch: pytest.MonkeyPatch, solve_calls: list[int]
) -> None:
    request = {"json": {"name": "mug", "quantity": 2}, "headers": {"X-Tag": "blue"}}
    (planned, planned_calls), (unplanned, plain_calls) = await both(
        monkeypatch, "POST", "/things/t1", **request
    )
    assert planned.status_code == unplanned.status_code == 201
    assert planned.json() == unplanned.json()
    assert planned.headers["content-length"] == unplanned.headers["content-length"]
    # The cached dependency ran once, the uncached one for each use, in FastAPI's order.
    assert planned_calls == plain_calls == ["counted", "uncached", "needs_counted", "uncached"]
    assert planned.json()["second"] == "/things/t1:2"
    assert len(solve_calls) == 1  # only the app without plans asked FastAPI


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"name": "", "quantity": 0}, {}),  # two body errors
        ({"name": "mug", "quantity": 1}, {"X-Tag": "too long"}),  # a header error
        ({"name": "mug", "quantity": 1}, {"Content-Type": "text/plain"}),  # not JSON
    ],
)
async def test_a_request_fastapi_would_refuse_is_refused_by_fastapi_with_nothing_run_twice(
    monkeypatch: pytest.MonkeyPatch,
    solve_calls: list[int],
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    import json

    request = {
        "content": json.dumps(body),
        "headers": {"Content-Type": "application/json", **headers},
    }
    (planned, planned_calls), (unplanned, plain_calls) = await both(
        monkeypatch, "POST", "/things/t1", **request
    )
    assert planned.status_code == unplanned.status_code == 422
    assert planned.json() == unplanned.json()
    assert planned_calls == plain_calls  # each dependency ran as often as under FastAPI alone
    assert len(solve_calls) == 2  # both apps left it to FastAPI


async def test_a_malformed_body_gets_fastapis_json_invalid_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = {"content": b'{"name": "mug",', "headers": {"Content-Type": "application/json"}}
    (planned, _), (unplanned, _) = await both(monkeypatch, "POST", "/things/t1", **request)
    assert planned.status_code == unplanned.status_code == 422
    assert planned.json() == unplanned.json()
    assert planned.json()["detail"][0]["type"] == "json_invalid"


async def test_path_and_query_parameters_are_validated_as_fastapi_does(
    monkeypatch: pytest.MonkeyPatch, solve_calls: list[int]
) -> None:
    for path, status in (("/things/plain/7?limit=3", 200), ("/things/plain/x?limit=y", 422)):
        (planned, _), (unplanned, _) = await both(monkeypatch, "GET", path)
        assert planned.status_code == unplanned.status_code == status
        assert planned.json() == unplanned.json()
    assert len(solve_calls) == 1 + 2  # the valid one by the plan; the invalid one by FastAPI


async def test_a_204_reply_has_no_body_and_no_content_length(
    monkeypatch: pytest.MonkeyPatch, solve_calls: list[int]
) -> None:
    (planned, planned_calls), (unplanned, _) = await both(monkeypatch, "DELETE", "/things/t9")
    assert planned.status_code == unplanned.status_code == 204
    assert planned.content == unplanned.content == b""
    assert ("content-length" in planned.headers) == ("content-length" in unplanned.headers)
    assert planned_calls == ["deleted t9"]
    assert len(solve_calls) == 1


async def test_a_route_with_a_generator_dependency_gets_no_plan(solve_calls: list[int]) -> None:
    routes = [r for r in build_router([]).routes if isinstance(r, fastapi_routing.APIRoute)]
    generated = next(r for r in routes if r.path == "/things/generated")
    assert solver.compile_route(generated) is None
    assert all(solver.compile_route(r) is not None for r in routes if r is not generated)
    app = build_app([])
    reply = await send(app, "GET", "/things/generated")
    assert reply.json() == {"value": "from a generator"}
    assert len(solve_calls) == 1  # FastAPI solved it


async def test_dependency_overrides_are_left_to_fastapi(solve_calls: list[int]) -> None:
    router = build_router([])
    app = FastAPI()
    app.include_router(router)

    async def stand_in() -> int:
        return 99

    for route in router.routes:
        if isinstance(route, fastapi_routing.APIRoute) and route.path == "/things/{thing_id}":
            for dependant in route.dependant.dependencies:
                if dependant.name == "again" and dependant.call is not None:
                    app.dependency_overrides[dependant.call] = stand_in
    reply = await send(app, "POST", "/things/t1", json={"name": "mug", "quantity": 1})
    assert reply.status_code == 201
    assert reply.json()["again"] == 99
    assert len(solve_calls) == 1


def build_checked_router(calls: list[str]) -> ShopRouter:
    """A route whose body validator raises (not a validation error) and whose caller check
    refuses a request without a token: FastAPI runs the check first."""

    async def caller(authorization: Annotated[str | None, Header()] = None) -> str:
        calls.append("caller")
        if authorization is None:
            raise HTTPException(401, "no token")
        return authorization

    class Strict(BaseModel):
        name: str

        @field_validator("name")
        @classmethod
        def refuse(cls, value: str) -> str:
            raise HTTPException(400, "refused by a validator")

    router = ShopRouter(prefix="/checked")

    @router.post("/")
    async def checked(body: Strict, who: Annotated[str, Depends(caller)]) -> dict[str, str]:
        return {"who": who}

    return router


async def test_a_validator_that_raises_is_left_to_fastapi_after_the_dependencies_before_it(
    monkeypatch: pytest.MonkeyPatch, solve_calls: list[int]
) -> None:
    replies = []
    for planned in (True, False):
        with monkeypatch.context() as patch:
            if not planned:
                patch.setattr(routing, "compile_route", lambda route: None)
            calls: list[str] = []
            app = FastAPI()
            app.include_router(build_checked_router(calls))
            reply = await send(app, "POST", "/checked/", json={"name": "x"})
        replies.append((reply.status_code, reply.json(), calls))
    # The caller check ran and refused, as FastAPI alone answers; the validator's 400 never
    # got ahead of it.
    assert replies[0] == replies[1]
    assert replies[0][0] == 401 and replies[0][2] == ["caller"]
    assert len(solve_calls) == 2


async def test_no_plan_when_fastapis_request_handler_is_wrapped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    original = fastapi_routing.get_request_handler

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:  # as an error tracker's integration wraps it
        inner = original(*args, **kwargs)

        async def handler(request: Request) -> Any:
            seen.append(request.url.path)
            return await inner(request)

        return handler

    monkeypatch.setattr(fastapi_routing, "get_request_handler", traced)
    routes = [r for r in build_router([]).routes if isinstance(r, fastapi_routing.APIRoute)]
    assert all(solver.compile_route(r) is None for r in routes)
    reply = await send(build_app([]), "GET", "/things/plain/7")
    assert reply.json() == {"number": 7, "limit": 10}
    assert seen == ["/things/plain/7"]  # the wrapper saw the request


def test_the_installed_fastapi_is_a_release_the_plan_was_checked_against() -> None:
    # Upgrading FastAPI turns the plans off (every route solved by FastAPI) until this suite
    # has been run against the new release and it is added to CHECKED_RELEASES.
    release = ".".join(fastapi.__version__.split(".")[:2])
    assert release in solver.CHECKED_RELEASES
    assert solver.compile_route(next(iter(build_router([]).routes))) is not None  # type: ignore[arg-type]


def test_every_field_of_fastapis_dependant_is_one_the_plan_reads_or_refuses() -> None:
    # A release whose Dependant grows a field (a new kind of parameter or dependency) is to be
    # looked at before it joins CHECKED_RELEASES: the plan would not know to refuse it.
    import dataclasses

    from fastapi.dependencies.models import Dependant

    read = {"call", "name", "use_cache", "dependencies", "path_params", "query_params",
            "header_params", "cookie_params", "body_params", "request_param_name",
            "http_connection_param_name"}
    refused = {"websocket_param_name", "response_param_name", "background_tasks_param_name",
               "security_scopes_param_name", "concurrency"}
    in_the_cache_key = {"own_oauth_scopes", "parent_oauth_scopes"}  # _get_cache_key's
    not_for_these = {"path", "scope"}  # the route's path; the lifetime of a generator's cleanup
    fields = {field.name for field in dataclasses.fields(Dependant)}
    assert fields == read | refused | in_the_cache_key | not_for_these

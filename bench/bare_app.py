"""The HTTP anchors: bare Starlette endpoints on the same uvicorn stack that only parse the JSON (figure 1's
webhooks, figure 6's run creation)."""

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def parse_only(request: Request) -> JSONResponse:
    document = json.loads(await request.body())
    accepted = len(document) if isinstance(document, list) else 1
    return JSONResponse({"accepted": accepted, "duplicates": 0, "ignored": 0})


async def create_only(request: Request) -> JSONResponse:
    document = json.loads(await request.body())
    return JSONResponse({"contact_id": document.get("contact_id"), "status": "active"}, status_code=201)


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/webhooks/{provider}", parse_only, methods=["POST"]),
            Route("/v1/runs", create_only, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )

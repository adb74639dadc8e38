"""The ingest anchor: a bare Starlette endpoint on the same uvicorn stack that only parses the JSON."""

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def parse_only(request: Request) -> JSONResponse:
    document = json.loads(await request.body())
    accepted = len(document) if isinstance(document, list) else 1
    return JSONResponse({"accepted": accepted, "duplicates": 0, "ignored": 0})


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/webhooks/{provider}", parse_only, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )

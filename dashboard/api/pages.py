"""The API's own documents: the index, the OpenAPI schema, the HTML docs page, and JSON 404s
for paths under /api/v1/ that name no endpoint."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from dashboard.api import schema
from dashboard.api.http import Call, api_view
from dashboard.api.params import ApiError
from dashboard.api.views import ENDPOINTS


def _index(call: Call) -> dict[str, Any]:
    base = call.request.build_absolute_uri(reverse("api:index"))
    return {
        "endpoints": {e.name: base.rstrip("/") + schema.path_of(e.route) for e in ENDPOINTS},
        "openapi": call.request.build_absolute_uri(reverse("api:openapi")),
        "docs": call.request.build_absolute_uri(reverse("api:docs")),
    }


def _openapi(call: Call) -> dict[str, Any]:
    return schema.document()


def _not_found(call: Call) -> dict[str, Any]:
    raise ApiError(404, "no such endpoint; see /api/v1/openapi.json", None)


index = api_view((), _index)
openapi = api_view((), _openapi)
not_found = api_view((), _not_found)


def docs(request: HttpRequest) -> HttpResponse:
    """Human documentation, rendered on the server from the OpenAPI document itself."""
    document = schema.document()
    operations = [_operation(path, item["get"]) for path, item in document["paths"].items()]
    components = [
        {"name": name, "fields": schema.fields_of(component)}
        for name, component in document["components"]["schemas"].items()
        if not name.endswith("List")
    ]
    context = {
        "info": document["info"],
        "intro": schema.INTRO.split("\n\n")[0],
        "operations": operations,
        "components": components,
        "base": request.build_absolute_uri(reverse("api:index")).rstrip("/"),
        "anon_limit": settings.API_RATE_LIMIT_PER_MINUTE,
        "key_limit": settings.API_KEY_RATE_LIMIT_PER_MINUTE,
    }
    return render(request, "api/docs.html", context)


def _operation(path: str, op: dict[str, Any]) -> dict[str, Any]:
    """One operation as the docs page shows it, with an example request built from the
    parameters' examples."""
    params = [{**p, "type": schema.type_of(p["schema"])} for p in op["parameters"]]
    query = urlencode({p["name"]: p["example"] for p in params if p.get("example")})
    example = re.sub(r"\{(\w+)\}", "gpt-4o", path) + (f"?{query}" if query else "")
    success = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    returns = success.rsplit("/", 1)[-1]
    item = returns.removesuffix("List")
    return {**op, "path": path, "parameters": params, "example": example, "returns": item}

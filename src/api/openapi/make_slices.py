#!/usr/bin/env python3
"""Cuts the provider slices served at /_userplane/openapi/{zoom,cloudflare}.json out of the
providers' own OpenAPI documents (kept outside the repository; pass their folder). Run by hand
when a dialect gains an operation; the output is committed and embedded in the binary.

    python3 src/api/openapi/make_slices.py REFERENCE_DIR

Each kept operation is the provider's own, verbatim, plus `x-userplane-implemented: true` and
`x-userplane-operation` (the name in the dialect's OPERATIONS table); operations userplane does
not implement are left out, and so are the components nothing kept refers to. Paths are made
absolute (`/v2/...`, `/client/v4/...`) so that one server URL, userplane's, serves them all.
"""
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def operations(dialect):
    """(method, route, name) from the dialect's OPERATIONS table in src/api/<dialect>/mod.rs."""
    text = (ROOT / "src/api" / dialect / "mod.rs").read_text()
    table = text[text.index("pub const OPERATIONS"):]
    table = table[: table.index("];")]
    return re.findall(r'\(\s*"([A-Z]+)",\s*"([^"]+)",\s*"([^"]+)",?\s*\)', table)


def shape(route):
    return re.sub(r"\{[^}]+\}", "{}", route)


def refs(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/"):
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def keep_components(document, kept_paths):
    """The components the kept paths refer to, transitively (dangling refs are reported)."""
    components = document.get("components", {})
    out, todo, missing = {}, list(refs(kept_paths)), set()
    while todo:
        ref = todo.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in out.get(kind, {}):
            continue
        item = components.get(kind, {}).get(name)
        if item is None:
            missing.add(ref)
            continue
        out.setdefault(kind, {})[name] = item
        todo.extend(refs(item))
    if "securitySchemes" in components:
        out["securitySchemes"] = components["securitySchemes"]
    return out, missing


def slice_of(dialect, sources, prefix, extra, info):
    """sources: provider documents, the first that has an operation wins."""
    wanted = operations(dialect)
    paths, components, missing = {}, {}, set()
    for method, route, name in wanted:
        found = None
        for document in sources:
            for path, item in document.get("paths", {}).items():
                if shape(prefix + path) == shape(route) and method.lower() in item:
                    found = (path, item, document)
                    break
            if found:
                break
        if found is None:
            found = extra(method, route)
        if found is None:
            sys.exit(f"{dialect}: no provider operation for {method} {route}")
        path, item, document = found
        operation = dict(item[method.lower()])
        operation["x-userplane-implemented"] = True
        operation["x-userplane-operation"] = name
        entry = paths.setdefault(prefix + path if document is not None else path, {})
        for key in ("parameters", "summary", "description"):
            if key in item and key not in entry:
                entry[key] = item[key]
        entry[method.lower()] = operation
        if document is not None:
            kept, gone = keep_components(document, {method: operation, "p": item.get("parameters", [])})
            missing |= gone
            for kind, items in kept.items():
                components.setdefault(kind, {}).update(items)
    for ref in sorted(missing):
        # The provider's fragment refers to a component it does not include: say so in place.
        _, _, kind, name = ref.split("/", 3)
        components.setdefault(kind, {})[name] = {"description": f"Not included in the provider fragment: {ref}"}
    return {
        "openapi": sources[0]["openapi"],
        "info": info,
        "servers": [{"url": "/", "description": "userplane"}],
        "paths": paths,
        "components": components,
    }


def main():
    reference = Path(sys.argv[1])
    zoom = json.loads((reference / "zoom/users-openapi-slice.json").read_text())

    def zoom_extra(method, route):
        if (method, route) == ("POST", "/oauth/token"):
            return ("/oauth/token", {"post": OAUTH_TOKEN}, None)
        return None

    zoom_slice = slice_of(
        "zoom",
        [zoom],
        "/v2",
        zoom_extra,
        {
            "title": "Zoom Users API v2: the slice userplane implements",
            "version": "2",
            "description": "Operations copied from Zoom's Users OpenAPI document (" + zoom["x-provenance"]["source"]
            + "); /oauth/token (server-to-server OAuth) written from Zoom's documentation. Each operation "
            "userplane serves is marked `x-userplane-implemented: true`.",
        },
    )
    cf_2026 = json.loads((reference / "cloudflare/openapi-operations.2026-07-27.json").read_text())
    cf_2024 = json.loads((reference / "cloudflare/openapi-fragments.2024-08-06.json").read_text())

    def cf_extra(method, route):
        # Single-item GETs the fragments lack: the list operation's item, per the SDK.
        singles = {
            "/client/v4/accounts/{account_id}/devices/physical-devices/{device_id}": ("device_id", "Get device"),
            "/client/v4/accounts/{account_id}/devices/registrations/{registration_id}": (
                "registration_id",
                "Get registration",
            ),
        }
        if method == "GET" and route in singles:
            param, summary = singles[route]
            return (route, {"get": single_get(route, param, summary)}, None)
        return None

    cf_slice = slice_of(
        "cloudflare",
        [cf_2026, cf_2024],
        "/client/v4",
        cf_extra,
        {
            "title": "Cloudflare API v4 (Access, devices, tokens): the slice userplane implements",
            "version": "4.0.0",
            "description": "Operations copied from Cloudflare's official OpenAPI schema (api-schemas, 2026-07-27 "
            "operations, 2024-08-06 fragments where the newer lacks one); two single-item GETs written from the "
            "cloudflare-python 5.9.0 SDK. Each operation userplane serves is marked `x-userplane-implemented: true`.",
        },
    )
    for name, document in (("zoom", zoom_slice), ("cloudflare", cf_slice)):
        (HERE / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
        print(name, sum(len([m for m in p if m not in ("parameters", "summary", "description")]) for p in document["paths"].values()), "operations")


OAUTH_TOKEN = {
    "summary": "Server-to-Server OAuth: get an access token",
    "description": "Zoom's token endpoint (https://zoom.us/oauth/token). `grant_type=account_credentials` and "
    "`account_id`, in the query string (as Zoom's docs) or a form body (as Zoom's starter app); the client "
    "authenticates with HTTP Basic (client_id:client_secret). The token lives one hour; there is no refresh token.",
    "operationId": "oauthToken",
    "security": [{"basic": []}],
    "parameters": [
        {"name": "grant_type", "in": "query", "schema": {"type": "string", "enum": ["account_credentials"]}},
        {"name": "account_id", "in": "query", "schema": {"type": "string"}},
    ],
    "requestBody": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["account_credentials"]},
                        "account_id": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "200": {
            "description": "An access token.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "access_token": {"type": "string"},
                            "token_type": {"type": "string", "example": "bearer"},
                            "expires_in": {"type": "integer", "example": 3599},
                            "scope": {"type": "string", "example": "user:read user:write"},
                            "api_url": {"type": "string", "example": "https://api.zoom.us"},
                        },
                    }
                }
            },
        },
        "400": {
            "description": "`{\"reason\", \"error\"}`: invalid_client, unsupported_grant_type, invalid_request.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"reason": {"type": "string"}, "error": {"type": "string"}},
                    }
                }
            },
        },
    },
}


def single_get(route, param, summary):
    return {
        "summary": summary,
        "description": "Not in the OpenAPI fragments kept; shape from the cloudflare-python 5.9.0 SDK: the v4 envelope "
        "with the item as `result`.",
        "operationId": summary.lower().replace(" ", "-"),
        "parameters": [
            {"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": param, "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {
                "description": "The v4 envelope: `success`, `errors`, `messages`, `result`.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            "4XX": {
                "description": "The v4 envelope with `success: false` and `errors: [{code, message}]`.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        },
    }


if __name__ == "__main__":
    main()

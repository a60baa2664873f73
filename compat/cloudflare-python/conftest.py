"""Fixtures for driving the official Cloudflare Python SDK against a running userplane.

run.sh starts the server and sets USERPLANE_URL and USERPLANE_ADMIN_TOKEN. Every test
starts from the tenants of world.json as first created (the control plane's reset).
"""

import json
import os
import urllib.request

import cloudflare
import pytest

URL = os.environ.get("USERPLANE_URL", "http://127.0.0.1:8700")
ADMIN_TOKEN = os.environ.get("USERPLANE_ADMIN_TOKEN", "")
BASE_URL = URL + "/client/v4"

ACME = "aaaa0000000000000000000000000001"
ACME_ZONE = "aaaa00000000000000000000000000f1"
BRAVO = "bbbb0000000000000000000000000002"
BRAVO_ZONE = "bbbb00000000000000000000000000f2"
CAPPED = "cccc0000000000000000000000000003"

ACME_KEY_EMAIL = "admin@acme.example.com"
ACME_KEY = "0123456789abcdef0123456789abcdef0a001"

ACME_USERS = 28  # jdoe, sam, kim and user00..user24


def control(method, path, body=None):
    """A control-plane call; returns the parsed JSON (or None for 204)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(URL + "/_userplane" + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + ADMIN_TOKEN)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def login(account, user, kind, target):
    """A simulated Access (app) or WARP (device) login; returns the session token."""
    field = "app" if kind == "access" else "device"
    return control("POST", f"/tenants/{account}/sessions", {"user": user, "kind": kind, field: target})["token"]


def state_of(token):
    """'active', or introspection's reason for a dead token."""
    info = control("POST", "/introspect", {"token": token})
    return "active" if info["active"] else info.get("reason", "unknown")


def advance_clock(account, seconds):
    return control("POST", f"/tenants/{account}/clock", {"advance_seconds": seconds})


def client(token="acme-admin-token", **kwargs):
    """An SDK client with an API token, pointed at userplane; no retries unless asked."""
    kwargs.setdefault("max_retries", 0)
    return cloudflare.Cloudflare(api_token=token, base_url=BASE_URL, **kwargs)


def key_client(email=ACME_KEY_EMAIL, key=ACME_KEY, **kwargs):
    kwargs.setdefault("max_retries", 0)
    return cloudflare.Cloudflare(api_email=email, api_key=key, base_url=BASE_URL, **kwargs)


def error_codes(exc):
    """The codes of an SDK error's `errors`."""
    return [e["code"] for e in exc.body["errors"]]


@pytest.fixture(autouse=True)
def fresh_world():
    for account in (ACME, BRAVO, CAPPED):
        control("POST", f"/tenants/{account}/reset")


@pytest.fixture
def cf():
    return client()


@pytest.fixture
def jdoe_id(cf):
    users = list(cf.zero_trust.access.users.list(account_id=ACME, email="jdoe@example.com"))
    assert len(users) == 1
    return users[0].id

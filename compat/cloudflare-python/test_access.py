"""Zero Trust users (auto-pagination), sessions, identities, failed logins, the
organization and Access applications."""

import cloudflare
import httpx
import pytest

from conftest import ACME, ACME_USERS, ACME_ZONE, BASE_URL, BRAVO, client, control, error_codes, login


def test_users_auto_paginate_until_an_empty_page():
    pages = []

    def record(request):
        if request.url.path.endswith("/access/users"):
            pages.append(request.url.params.get("page", "1"))

    sdk = cloudflare.Cloudflare(
        api_token="acme-admin-token",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.Client(event_hooks={"request": [record]}),
    )
    users = list(sdk.zero_trust.access.users.list(account_id=ACME, per_page=10))
    emails = [u.email for u in users]
    assert len(emails) == ACME_USERS
    assert len(set(emails)) == ACME_USERS
    assert emails == sorted(emails)
    # Pages 1-3 hold 10, 10 and 8 users; page 4 is empty and ends the iteration.
    assert pages == ["1", "2", "3", "4"]
    first = sdk.zero_trust.access.users.list(account_id=ACME, per_page=10)
    assert first.result_info.total_count == ACME_USERS


def test_users_filters(cf):
    found = list(cf.zero_trust.access.users.list(account_id=ACME, email="jdoe@example.com"))
    assert [(u.email, u.name, u.active_device_count, u.gateway_seat) for u in found] == [
        ("jdoe@example.com", "Jane Doe", 2, True)
    ]
    assert [u.email for u in cf.zero_trust.access.users.list(account_id=ACME, search="smith")] == ["sam@example.com"]
    assert list(cf.zero_trust.access.users.list(account_id=ACME, email="nobody@example.com")) == []


def test_active_sessions_list_and_get(cf, jdoe_id):
    login(ACME, "jdoe@example.com", "access", "Wiki")
    login(ACME, "jdoe@example.com", "access", "Grafana")
    sessions = list(cf.zero_trust.access.users.active_sessions.list(jdoe_id, account_id=ACME))
    assert len(sessions) == 2
    names = sorted(app.name for s in sessions for app in s.metadata.apps.values())
    assert names == ["Grafana", "Wiki"]
    nonce = sessions[0].metadata.nonce
    session = cf.zero_trust.access.users.active_sessions.get(nonce, account_id=ACME, user_id=jdoe_id)
    assert session.is_active is True
    assert session.email == "jdoe@example.com"
    assert session.user_uuid == jdoe_id
    cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com")
    assert list(cf.zero_trust.access.users.active_sessions.list(jdoe_id, account_id=ACME)) == []
    after = cf.zero_trust.access.users.active_sessions.get(nonce, account_id=ACME, user_id=jdoe_id)
    assert after.is_active is False
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.zero_trust.access.users.active_sessions.get("0" * 24, account_id=ACME, user_id=jdoe_id)
    assert error_codes(caught.value) == [12135]


def test_last_seen_identity_and_failed_logins(cf, jdoe_id):
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.access.users.last_seen_identity.get(jdoe_id, account_id=ACME)
    login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    identity = cf.zero_trust.access.users.last_seen_identity.get(jdoe_id, account_id=ACME)
    assert identity.email == "jdoe@example.com"
    assert identity.is_warp is True
    assert list(cf.zero_trust.access.users.failed_logins.list(jdoe_id, account_id=ACME)) == []
    cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com", query_devices=True)
    try:
        login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    except Exception:  # noqa: BLE001 - the control plane refuses the revoked device (409)
        pass
    failed = list(cf.zero_trust.access.users.failed_logins.list(jdoe_id, account_id=ACME))
    assert len(failed) == 1
    assert failed[0].metadata["user_email"] == "jdoe@example.com"


def test_organization_read_update_and_create(cf):
    org = cf.zero_trust.organizations.list(account_id=ACME)
    assert org.name == "acme org"
    assert org.auth_domain == "acme.cloudflareaccess.com"
    updated = cf.zero_trust.organizations.update(account_id=ACME, name="Acme Renamed", auto_redirect_to_identity=True)
    assert updated.name == "Acme Renamed"
    assert updated.auto_redirect_to_identity is True
    assert cf.zero_trust.organizations.list(zone_id=ACME_ZONE).name == "Acme Renamed"
    with pytest.raises(cloudflare.ConflictError):
        cf.zero_trust.organizations.create(account_id=ACME, name="x", auth_domain="x.cloudflareaccess.com")
    bravo = client("bravo-admin-token")
    with pytest.raises(cloudflare.NotFoundError):
        bravo.zero_trust.organizations.list(account_id=BRAVO)
    created = bravo.zero_trust.organizations.create(
        account_id=BRAVO, name="Bravo", auth_domain="bravo.cloudflareaccess.com"
    )
    assert created.name == "Bravo"
    assert bravo.zero_trust.organizations.list(account_id=BRAVO).auth_domain == "bravo.cloudflareaccess.com"


def test_applications_list_on_accounts_and_zones(cf):
    apps = list(cf.zero_trust.access.applications.list(account_id=ACME))
    assert sorted(a.name for a in apps) == ["Grafana", "Wiki"]
    zone_apps = list(cf.zero_trust.access.applications.list(zone_id=ACME_ZONE, per_page=1))
    assert sorted(a.name for a in zone_apps) == ["Grafana", "Wiki"]
    wiki = list(cf.zero_trust.access.applications.list(account_id=ACME, name="Wiki", exact=True))
    assert [a.domain for a in wiki] == ["wiki.example.com"]
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        list(client("acme-none-token").zero_trust.access.applications.list(account_id=ACME))
    assert error_codes(caught.value) == [10000]
    assert control("GET", "/health")["status"] == "ok"

"""zero_trust.organizations.revoke_users, on accounts and zones, with every parameter."""

import cloudflare
import pytest

from conftest import (
    ACME,
    ACME_ZONE,
    BRAVO,
    BRAVO_ZONE,
    client,
    error_codes,
    key_client,
    login,
    state_of,
)


def registrations_of(cf, email):
    return [r for r in cf.zero_trust.devices.registrations.list(account_id=ACME, status="all") if r.user.email == email]


def test_account_revoke_with_every_parameter(cf, jdoe_id):
    wiki = login(ACME, "jdoe@example.com", "access", "Wiki")
    laptop = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    sam = login(ACME, "sam@example.com", "access", "Wiki")
    result = cf.zero_trust.organizations.revoke_users(
        account_id=ACME,
        email="jdoe@example.com",
        query_devices=True,
        body_devices=False,
        user_uid=jdoe_id,
        warp_session_reauth=True,
    )
    assert result is True
    assert state_of(wiki) == "access_revoked"
    # Both the WARP re-auth and the device revocation hit at once; either reason is right.
    assert state_of(laptop) in ("warp_reauth_required", "device_revoked")
    assert state_of(sam) == "active"
    assert all(r.revoked_at for r in registrations_of(cf, "jdoe@example.com"))
    assert not any(r.revoked_at for r in registrations_of(cf, "sam@example.com"))
    assert list(cf.zero_trust.access.users.active_sessions.list(jdoe_id, account_id=ACME)) == []


def test_account_revoke_with_only_an_email_leaves_devices_and_warp(cf):
    wiki = login(ACME, "jdoe@example.com", "access", "Wiki")
    laptop = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    assert cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com") is True
    assert state_of(wiki) == "access_revoked"
    assert state_of(laptop) == "active"
    assert not any(r.revoked_at for r in registrations_of(cf, "jdoe@example.com"))


def test_body_devices_revokes_devices(cf):
    laptop = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    assert cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com", body_devices=True)
    assert state_of(laptop) == "device_revoked"


def test_warp_session_reauth_alone(cf):
    laptop = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    assert cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com", warp_session_reauth=True)
    assert state_of(laptop) == "warp_reauth_required"
    assert not any(r.revoked_at for r in registrations_of(cf, "jdoe@example.com"))
    assert state_of(login(ACME, "jdoe@example.com", "warp", "jane-laptop")) == "active"


def test_zone_revoke_with_a_token_and_with_a_global_key(cf):
    wiki = login(ACME, "jdoe@example.com", "access", "Wiki")
    assert cf.zero_trust.organizations.revoke_users(zone_id=ACME_ZONE, email="jdoe@example.com") is True
    assert state_of(wiki) == "access_revoked"
    sam = login(ACME, "sam@example.com", "access", "Grafana")
    laptop = login(ACME, "sam@example.com", "warp", "sam-desktop")
    result = key_client().zero_trust.organizations.revoke_users(
        zone_id=ACME_ZONE, email="sam@example.com", body_devices=True, warp_session_reauth=True
    )
    assert result is True
    assert state_of(sam) == "access_revoked"
    assert state_of(laptop) in ("warp_reauth_required", "device_revoked")


def test_account_revoke_with_a_global_key():
    wiki = login(ACME, "kim@example.com", "access", "Wiki")
    assert key_client().zero_trust.organizations.revoke_users(account_id=ACME, email="kim@example.com") is True
    assert state_of(wiki) == "access_revoked"


def test_unknown_email_is_not_found_and_changes_nothing(cf):
    wiki = login(ACME, "jdoe@example.com", "access", "Wiki")
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdeo@example.com", query_devices=True)
    assert caught.value.status_code == 404
    assert error_codes(caught.value) == [12135]
    assert caught.value.errors[0].message == "access.api.error.not_found"
    assert state_of(wiki) == "active"


def test_invalid_input_is_a_bad_request(cf, jdoe_id):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.zero_trust.organizations.revoke_users(account_id=ACME, email="not-an-email")
    assert error_codes(caught.value) == [12130]
    assert caught.value.errors[0].message == "access.api.error.invalid_request: email is invalid"
    sam = list(cf.zero_trust.access.users.list(account_id=ACME, email="sam@example.com"))[0].id
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com", user_uid=sam)
    assert error_codes(caught.value) == [12130]


def test_permissions_and_accounts_are_enforced():
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        client("acme-none-token").zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com")
    assert caught.value.status_code == 403
    assert error_codes(caught.value) == [10000]
    bravo_session = login(BRAVO, "jdoe@example.com", "access", "Wiki")
    for target in ({"account_id": BRAVO}, {"zone_id": BRAVO_ZONE}):
        with pytest.raises(cloudflare.PermissionDeniedError) as caught:
            client().zero_trust.organizations.revoke_users(email="jdoe@example.com", **target)
        assert error_codes(caught.value) == [9109]
        assert caught.value.errors[0].message == "Unauthorized to access requested resource"
    assert state_of(bravo_session) == "active"
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        client("no-such-token").zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com")
    assert error_codes(caught.value) == [9109]
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        key_client(key="0123456789abcdef0123456789abcdef0ffff").zero_trust.organizations.revoke_users(
            account_id=ACME, email="jdoe@example.com"
        )
    assert error_codes(caught.value) == [9103]


def test_email_plus_token_sends_no_usable_credential():
    # The SDK drops the token when api_email is set: the server sees half a key pair.
    sdk = cloudflare.Cloudflare(
        api_email="admin@acme.example.com", api_token="acme-admin-token", base_url=client().base_url, max_retries=0
    )
    with pytest.raises(cloudflare.BadRequestError) as caught:
        sdk.zero_trust.organizations.revoke_users(account_id=ACME, email="jdoe@example.com")
    assert error_codes(caught.value) == [9106]

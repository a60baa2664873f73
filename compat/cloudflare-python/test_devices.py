"""Devices: legacy devices, physical devices and registrations, with the cursor
pagination of the current endpoints."""

import cloudflare
import pytest

from conftest import ACME, error_codes, key_client, login, state_of


def by_name(items, name):
    return next(i for i in items if i.name == name)


def test_legacy_devices_list_get_revoke_unrevoke(cf):
    session = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    devices = list(cf.zero_trust.devices.list(account_id=ACME))
    assert sorted(d.name for d in devices) == ["jane-laptop", "jane-phone", "sam-desktop"]
    laptop = by_name(devices, "jane-laptop")
    assert laptop.device_type == "mac"
    assert laptop.user.email == "jdoe@example.com"
    assert cf.zero_trust.devices.get(laptop.id, account_id=ACME).name == "jane-laptop"
    assert cf.zero_trust.devices.revoke.create(account_id=ACME, body=[laptop.id]) is None
    assert state_of(session) == "device_revoked"
    assert cf.zero_trust.devices.get(laptop.id, account_id=ACME).revoked_at is not None
    cf.zero_trust.devices.unrevoke.create(account_id=ACME, body=[laptop.id])
    assert cf.zero_trust.devices.get(laptop.id, account_id=ACME).revoked_at is None
    # Un-revoking revives no old session.
    assert state_of(session) == "device_revoked"
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.zero_trust.devices.revoke.create(account_id=ACME, body=["no-such-device"])
    assert error_codes(caught.value) == [12135]


def test_physical_devices_cursor_pagination_and_revoke(cf):
    devices = list(cf.zero_trust.devices.devices.list(account_id=ACME, per_page=1))
    assert sorted(d.name for d in devices) == ["jane-laptop", "jane-phone", "sam-desktop"]
    page = cf.zero_trust.devices.devices.list(account_id=ACME, per_page=2)
    assert len(page.result) == 2 and page.result_info.cursor
    desktop = by_name(devices, "sam-desktop")
    assert desktop.active_registrations == 1
    assert desktop.last_seen_user.email == "sam@example.com"
    cf.zero_trust.devices.devices.revoke(desktop.id, account_id=ACME)
    assert cf.zero_trust.devices.devices.get(desktop.id, account_id=ACME).active_registrations == 0
    active = list(cf.zero_trust.devices.devices.list(account_id=ACME))
    assert sorted(d.name for d in active) == ["jane-laptop", "jane-phone"]
    everything = list(cf.zero_trust.devices.devices.list(account_id=ACME, active_registrations="include"))
    assert len(everything) == 3
    jdoe_only = list(
        cf.zero_trust.devices.devices.list(account_id=ACME, last_seen_user={"email": "jdoe@example.com"})
    )
    assert len(jdoe_only) == 2


def test_registrations_list_revoke_unrevoke(cf):
    laptop_session = login(ACME, "jdoe@example.com", "warp", "jane-laptop")
    registrations = list(cf.zero_trust.devices.registrations.list(account_id=ACME, per_page=1))
    assert len(registrations) == 3
    jdoe = [r.id for r in registrations if r.user.email == "jdoe@example.com"]
    assert len(jdoe) == 2
    assert cf.zero_trust.devices.registrations.revoke(account_id=ACME, id=jdoe) is None
    assert state_of(laptop_session) == "device_revoked"
    assert [r.user.email for r in cf.zero_trust.devices.registrations.list(account_id=ACME)] == ["sam@example.com"]
    revoked = list(cf.zero_trust.devices.registrations.list(account_id=ACME, status="revoked"))
    assert sorted(r.id for r in revoked) == sorted(jdoe)
    one = cf.zero_trust.devices.registrations.get(jdoe[0], account_id=ACME)
    assert one.revoked_at is not None
    cf.zero_trust.devices.registrations.unrevoke(account_id=ACME, id=jdoe)
    assert len(list(cf.zero_trust.devices.registrations.list(account_id=ACME))) == 3
    assert state_of(laptop_session) == "device_revoked"
    assert state_of(login(ACME, "jdoe@example.com", "warp", "jane-laptop")) == "active"
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.devices.registrations.revoke(account_id=ACME, id=["no-such-registration"])


def test_current_device_endpoints_take_tokens_only():
    with pytest.raises(cloudflare.BadRequestError) as caught:
        list(key_client().zero_trust.devices.registrations.list(account_id=ACME))
    assert error_codes(caught.value) == [10001]
    # The legacy ones take global keys.
    assert len(list(key_client().zero_trust.devices.list(account_id=ACME))) == 3

"""Token verification, routing errors and the rate limit (RateLimitError, and the
SDK's retry going through once the window resets)."""

import datetime
import time

import cloudflare
import httpx
import pytest

from conftest import ACME, BASE_URL, BRAVO, CAPPED, advance_clock, client, control, error_codes, key_client


def test_token_verify_on_user_and_account_paths(cf):
    verified = cf.user.tokens.verify()
    assert verified.status == "active"
    assert len(verified.id) == 32
    assert cf.accounts.tokens.verify(account_id=ACME).id == verified.id
    with pytest.raises(cloudflare.BadRequestError) as caught:
        client("no-such-token").user.tokens.verify()
    assert error_codes(caught.value) == [1000]
    with pytest.raises(cloudflare.PermissionDeniedError) as caught:
        cf.accounts.tokens.verify(account_id=BRAVO)
    assert error_codes(caught.value) == [9109]
    with pytest.raises(cloudflare.BadRequestError) as caught:
        key_client().user.tokens.verify()
    assert error_codes(caught.value) == [10001]


def test_a_bad_account_id_is_7003(cf):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        list(cf.zero_trust.access.users.list(account_id="not-an-account"))
    assert error_codes(caught.value) == [7003, 7000]
    assert "perhaps your object identifier is invalid" in caught.value.errors[0].message


def exhaust_the_window(token):
    """Moves CAPPED's clock to the start of a fresh 300 s window, then spends its 1200
    requests; returns the Retry-After the next request gets."""
    now = datetime.datetime.fromisoformat(control("GET", f"/tenants/{CAPPED}/clock")["now"].replace("Z", "+00:00"))
    advance_clock(CAPPED, 300 - int(now.timestamp()) % 300 + 1)
    with httpx.Client(base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}) as http:
        for i in range(1200):
            response = http.get("/user/tokens/verify")
            assert response.status_code == 200, (i, response.text)
        last = http.get("/user/tokens/verify")
        assert last.status_code == 429
        assert last.headers["ratelimit-policy"] == '"default";q=1200;w=300'
        return int(last.headers["retry-after"])


def test_rate_limit_raises_rate_limit_error_and_the_retry_succeeds_after_the_window():
    retry_after = exhaust_the_window("capped-admin-token")
    assert 1 <= retry_after <= 300

    # Without retries: RateLimitError with code 971 and Retry-After.
    with pytest.raises(cloudflare.RateLimitError) as caught:
        client("capped-admin-token").zero_trust.organizations.revoke_users(account_id=CAPPED, email="jdoe@example.com")
    assert caught.value.status_code == 429
    assert error_codes(caught.value) == [971]
    assert int(caught.value.response.headers["retry-after"]) >= 1

    # With retries: the SDK retries the 429; once the window has passed, the retry goes
    # through. The hook moves the tenant's clock past the window on the first 429.
    attempts = []

    def on_response(response):
        attempts.append(response.status_code)
        if response.status_code == 429 and len(attempts) == 1:
            advance_clock(CAPPED, 300)

    sdk = cloudflare.Cloudflare(
        api_token="capped-admin-token",
        base_url=BASE_URL,
        max_retries=2,
        http_client=httpx.Client(event_hooks={"response": [on_response]}),
    )
    started = time.monotonic()
    assert sdk.zero_trust.organizations.revoke_users(account_id=CAPPED, email="jdoe@example.com") is True
    assert attempts == [429, 200]
    # Retry-After is beyond the SDK's 60 s ceiling, so it backs off briefly instead.
    assert time.monotonic() - started < 30


def test_rate_limit_retries_give_up_with_rate_limit_error():
    exhaust_the_window("capped-admin-token")
    attempts = []
    sdk = cloudflare.Cloudflare(
        api_token="capped-admin-token",
        base_url=BASE_URL,
        max_retries=1,
        http_client=httpx.Client(event_hooks={"response": [lambda r: attempts.append(r.status_code)]}),
    )
    with pytest.raises(cloudflare.RateLimitError) as caught:
        sdk.user.tokens.verify()
    assert attempts == [429, 429]
    assert error_codes(caught.value) == [971]
    # Another token of the same account has its own window.
    assert client("capped-reader-token").user.tokens.verify().status == "active"

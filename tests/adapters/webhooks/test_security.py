"""Address policy: schemes, userinfo, numeric spellings, and every address family trick."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from calendar_service.adapters.webhooks.security import AddressPolicy, Resolver
from calendar_service.core.errors import UnsafeWebhookURL

PUBLIC = "93.184.215.14"


def fixed(*addresses: str) -> Resolver:
    """A resolver answering `addresses` for any name."""

    def resolve(host: str, port: int) -> Sequence[str]:
        return list(addresses)

    return resolve


HOSTILE = [
    "file:///etc/passwd",
    "gopher://example.com/_x",
    "ftp://example.com/",
    "http://user:pw@example.com/hook",
    "http://@example.com/hook",
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[64:ff9b::7f00:1]/hook",
    "http://[64:ff9b::a00:1]/hook",
    "http://[64:ff9b:1::a00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[2002:a9fe:a9fe::]/hook",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://[fc00::1]/hook",
    "http://[fe80::1]/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.0.0.1/hook",
    "http://0x7f.1/hook",
    "http://127.1/hook",
    "http://224.0.0.1/hook",
    "http://[ff02::1]/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://240.0.0.1/hook",
    "http://192.0.0.8/hook",
    "http:///nohost",
    "not a url",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_urls_are_refused(url: str) -> None:
    policy = AddressPolicy(allow_private=False, resolver=fixed(PUBLIC))
    with pytest.raises(UnsafeWebhookURL):
        policy.check_url(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "::1",
        "::ffff:192.168.0.1",
        "100.64.1.1",
        "169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "fd12::1",
    ],
)
def test_names_resolving_to_internal_addresses_are_refused(address: str) -> None:
    policy = AddressPolicy(resolver=fixed(address))
    with pytest.raises(UnsafeWebhookURL, match="not allowed"):
        policy.check_url("https://hooks.example.com/x")


def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    policy = AddressPolicy(resolver=fixed(PUBLIC, "10.0.0.7"))
    with pytest.raises(UnsafeWebhookURL, match=r"10\.0\.0\.7 is a private address"):
        policy.check_url("https://hooks.example.com/x")


def test_unresolvable_names_are_refused_at_registration() -> None:
    def fail(host: str, port: int) -> Sequence[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeWebhookURL, match="does not resolve"):
        AddressPolicy(resolver=fail).check_url("https://nowhere.invalid/x")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T/B/x",
        "http://93.184.215.14:8080/h",
        "https://[2606:4700::1111]/h",
        "HTTPS://Example.COM./x",
    ],
)
def test_public_targets_pass(url: str) -> None:
    AddressPolicy(resolver=fixed(PUBLIC)).check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/h",
        "http://localhost/h",
        "http://10.0.0.1/h",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://100.64.0.1/h",
    ],
)
def test_allow_private_allows_local_targets(url: str) -> None:
    AddressPolicy(allow_private=True, resolver=fixed("127.0.0.1")).check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://2130706433/",
        "http://u:p@127.0.0.1/",
    ],
)
def test_allow_private_still_refuses_schemes_metadata_and_tricks(url: str) -> None:
    with pytest.raises(UnsafeWebhookURL):
        AddressPolicy(allow_private=True, resolver=fixed("127.0.0.1")).check_url(url)


def test_a_name_resolving_to_metadata_is_refused_even_when_private_is_allowed() -> None:
    policy = AddressPolicy(allow_private=True, resolver=fixed("169.254.169.254"))
    with pytest.raises(UnsafeWebhookURL, match="metadata"):
        policy.check_url("http://metadata.internal/")


def test_error_message_hides_the_path_which_may_be_a_token() -> None:
    with pytest.raises(UnsafeWebhookURL) as caught:
        AddressPolicy(resolver=fixed("10.0.0.1")).check_url("https://hooks.example.com/services/SECRET123")
    assert "SECRET123" not in str(caught.value)
    assert "hooks.example.com" in str(caught.value)

"""TLS helpers, endpoint validation, and the host-name check (which the simulator cannot fail).

Unknown CA, thumbprint mismatch and a working pin run against the simulator
(``test_client_sim.py``); a certificate for the wrong host name needs a server of our own.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from fleetupgrade.errors import CredentialsError, TLSVerificationError, UsernameError
from fleetupgrade.vcenter import VCenterClient, format_thumbprint, parse_thumbprint
from tests.vcenter.conftest import SENTINEL_PASSWORD, endpoint_for

DIGEST = bytes(range(32))
TEXT = "sha256:" + ":".join(f"{byte:02X}" for byte in DIGEST)


def test_thumbprint_round_trip() -> None:
    """``sha256:AB:…`` parses to 32 bytes and formats back in upper case."""
    assert parse_thumbprint(TEXT) == DIGEST
    assert format_thumbprint(DIGEST) == TEXT


@pytest.mark.parametrize("text", [TEXT.lower(), TEXT.replace("sha256", "SHA256"), f" {TEXT} "])
def test_thumbprint_is_case_insensitive(text: str) -> None:
    """Case and surrounding blanks do not matter."""
    assert parse_thumbprint(text) == DIGEST


@pytest.mark.parametrize(
    "text",
    [
        TEXT.removeprefix("sha256:"),
        "sha1:" + TEXT.removeprefix("sha256:"),
        TEXT[:-3],
        TEXT + ":00",
        TEXT.replace(":", ""),
        TEXT[:-1] + "G",
    ],
)
def test_bad_thumbprints_are_rejected(text: str) -> None:
    """Anything but 32 colon-separated hex bytes after ``sha256:`` is refused with the form."""
    with pytest.raises(ValueError, match="sha256:AB:CD"):
        parse_thumbprint(text)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "http://vc.example"}, "only allowed on loopback"),
        ({"url": "ftp://vc.example"}, "url must be https://"),
        ({"url": "https://"}, "url must be https://"),
        ({"url": "https://u:p@vc.example"}, "must not carry"),
        ({"tls_thumbprint": "sha256:AB"}, "vCenter vc-test: tls_thumbprint must look like"),
        ({"username": "a:b"}, "contains ':' or a control character"),
        ({"username": "admin\x00"}, "contains ':' or a control character"),
        ({"username": "admin\r\nX-Injected: 1"}, "contains ':' or a control character"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_requests_per_second": -1.0}, "max_requests_per_second"),
        ({"breaker_threshold": -1}, "breaker_threshold"),
        ({"breaker_cooldown": -1.0}, "breaker_cooldown"),
        ({"settle_delay": -1.0}, "settle_delay"),
    ],
)
def test_endpoint_validation(changes: dict[str, object], message: str) -> None:
    """A bad endpoint fails when built, naming the vCenter and the field."""
    values = {"url": "https://vc.example"} | changes
    with pytest.raises(ValueError, match=message):
        endpoint_for(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("username", ["svc:S3cret", "svc\tname", "svc\x7f", "svc\u0085"])
def test_unsendable_username_is_a_credentials_error(username: str) -> None:
    """A username Basic auth cannot carry is a CredentialsError (and a ValueError), not echoed."""
    with pytest.raises(UsernameError) as info:
        endpoint_for("https://vc.example", username=username)
    assert isinstance(info.value, CredentialsError)
    assert isinstance(info.value, ValueError)
    assert username not in str(info.value)
    assert "vCenter vc-test" in str(info.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:80"])
def test_plain_http_is_allowed_on_loopback(url: str) -> None:
    """The simulator's --http mode works on loopback."""
    assert not endpoint_for(url).uses_tls


def test_endpoint_repr_hides_the_password() -> None:
    """The password is not part of the endpoint's repr."""
    endpoint = endpoint_for("https://vc.example")
    assert SENTINEL_PASSWORD not in repr(endpoint)
    assert SENTINEL_PASSWORD not in str(endpoint)


@pytest.fixture
async def wrong_name_server(tmp_path: Path) -> AsyncIterator[tuple[str, Path, str]]:
    """An HTTPS server on 127.0.0.1 whose certificate is for ``vc.example`` only."""
    ca = trustme.CA()
    cert = ca.issue_cert("vc.example")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    thumbprint = format_thumbprint(hashlib.sha256(der).digest())

    async def session(request: web.Request) -> web.Response:
        return web.json_response("token", status=201)

    app = web.Application()
    app.router.add_post("/api/session", session)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}", ca_file, thumbprint
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_wrong_host_name_is_refused(wrong_name_server: tuple[str, Path, str]) -> None:
    """A trusted certificate for another host name is a TLSVerificationError saying so."""
    url, ca_file, _ = wrong_name_server
    async with VCenterClient(endpoint_for(url, ca_file=ca_file)) as vc:
        with pytest.raises(TLSVerificationError, match=r"not match the host name '127\.0\.0\.1'"):
            await vc.login()


@pytest.mark.anyio
async def test_pin_and_ca_file_require_both(wrong_name_server: tuple[str, Path, str]) -> None:
    """With ca_file and a (correct) pin, the host name is still checked."""
    url, ca_file, thumbprint = wrong_name_server
    endpoint = endpoint_for(url, ca_file=ca_file, tls_thumbprint=thumbprint)
    async with VCenterClient(endpoint) as vc:
        with pytest.raises(TLSVerificationError, match="host name"):
            await vc.login()


@pytest.mark.anyio
async def test_pin_alone_is_the_trust_anchor(wrong_name_server: tuple[str, Path, str]) -> None:
    """With only a thumbprint, exactly that certificate is accepted (CA and name not consulted)."""
    url, _, thumbprint = wrong_name_server
    async with VCenterClient(endpoint_for(url, tls_thumbprint=thumbprint.lower())) as vc:
        await vc.login()

"""A throw-away certificate authority and server certificate for the simulator's HTTPS.

Clients always verify TLS (docs/design.md, Plan), so the simulator generates its own CA at start,
issues a certificate for every loopback name (``127.0.0.1``, ``::1``, ``localhost``) and
writes the CA's PEM where a plan's ``ca_file`` can point to it.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True, slots=True)
class ServerTLS:
    """What the listeners and the clients need: a server context, the CA file, the pin."""

    context: ssl.SSLContext
    ca_file: Path
    thumbprint: str  # sha256:AB:CD:… of the server certificate, for tls_thumbprint pins


def make_server_tls(workdir: Path) -> ServerTLS:
    """Generate a CA and a loopback server certificate; write ``ca.pem`` into ``workdir``."""
    ca = trustme.CA(organization_name="fleetupgrade simulator")
    cert = ca.issue_cert(*LOOPBACK_NAMES)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    digest = hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest().upper()
    thumbprint = "sha256:" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return ServerTLS(context=context, ca_file=ca_file, thumbprint=thumbprint)

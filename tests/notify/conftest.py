"""A local HTTP receiver and a local SMTP server (aiosmtpd) with STARTTLS and login."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.sandbox import bound_socket

SMTP_USER, SMTP_PASSWORD = "pairsync", "smtp-password-for-tests-0042"


@dataclass
class Receiver:
    """Records every POST; answers `fail_with` to the first `failures` of them."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0
    fail_with: int = 503


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.attempts += 1
            status = 200
            if state.failures > 0:
                state.failures -= 1
                status = state.fail_with
            else:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Mailbox:
    port: int
    ca_file: str
    messages: list[Envelope] = field(default_factory=list)


class _Handler:
    def __init__(self, box: list[Envelope]) -> None:
        self.box = box

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        self.box.append(envelope)
        return "250 OK"


def _authenticator(_server: Any, _session: Session, _envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class _BoundController(Controller):
    """aiosmtpd's controller serving on a socket bound beforehand (the port is known before it starts)."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    import ssl

    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    sock = bound_socket("127.0.0.1", 0)  # handed to the server as it is: no moment for another to take the port
    box = Mailbox(port=int(sock.getsockname()[1]), ca_file=str(cert_file))
    controller = _BoundController(sock, _Handler(box.messages), hostname="127.0.0.1", port=box.port,
                                  tls_context=context, require_starttls=True, authenticator=_authenticator,
                                  auth_require_tls=True)
    controller.start()
    yield box
    controller.stop()

"""Shared pieces of the attack suite: the replayed hub (the workflows run against a bare
repository and the local GitHub server), hostile bundles, and listeners that record
every credential they are offered.

Each module here is one class of attack on the workflow side; each test asserts the
guarantee that closes it, and fails on the code that lacked it."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pygit2
import pytest

from tests.test_workflows_replay import (  # noqa: F401 - fixtures and helpers for the suite
    HUB,
    Replay,
    example,
    hub,
    logs,
    open_fork_pr,
    workflow_run_event,
)


def git(*args: str, cwd: Path | None = None, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, input=data, check=True,
                          capture_output=True).stdout


def submit(replay: Replay, author: str, name: str, number: int,
           source: str = "starting_kit", files: dict[str, bytes] | None = None):
    """A fork's PR adding kits/iris/submissions/<name>/, and its validated submission run:
    (head sha, submission run id, the jobs of that run)."""
    files = files if files is not None else example(source)
    sha, event = open_fork_pr(replay, author, {f"kits/iris/submissions/{name}/{f}": d
                                               for f, d in files.items()}, number=number)
    run_id, jobs = replay.run_workflow("submission.yml", "pull_request", event)
    return sha, run_id, jobs


def trusted_clone(replay: Replay, run_id: int, job: str) -> Path:
    """The default-branch checkout a replayed job worked in."""
    return replay.tmp / f"run{run_id}-{job}" / "workspace" / "trusted"


def has_object(repo: Path, oid: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", oid],
                          capture_output=True).returncode == 0


@dataclass
class PaddedBundle:
    data: bytes
    padding: list[str]  # ids of the unreferenced blobs it carries


def padded_bundle(replay: Replay, number: int, sha: str, pad_bytes: int,
                  blobs: int = 4) -> PaddedBundle:
    """A bundle that lists exactly refs/pull/<number>/head at `sha` (and the default
    branch as its prerequisite, as an honest one does) but whose pack also carries
    `pad_bytes` of random blobs that nothing references."""
    scratch = replay.tmp / f"mallory-{number}.git"
    git("init", "--quiet", "--bare", str(scratch))
    ref = f"refs/pull/{number}/head"
    git("-C", str(scratch), "fetch", "--quiet", str(replay.origin),
        f"+{ref}:{ref}", "+refs/heads/main:refs/heads/main")
    main = git("-C", str(scratch), "rev-parse", "main").decode().strip()
    padding = [git("-C", str(scratch), "hash-object", "-w", "--stdin",
                   data=os.urandom(pad_bytes // blobs)).decode().strip()
               for _ in range(blobs)]
    own = git("-C", str(scratch), "rev-list", "--objects", "--no-object-names", sha,
              f"^{main}").decode().split()
    pack = git("-C", str(scratch), "pack-objects", "--stdout",
               data="".join(f"{o}\n" for o in own + padding).encode())
    header = f"# v2 git bundle\n-{main} main\n{sha} {ref}\n\n".encode()
    return PaddedBundle(header + pack, padding)


# --------------------------------------------------------------------------- listeners
@dataclass
class Listener:
    """An HTTP(S) server that answers every request 401 (asking for Basic credentials),
    or redirects it, and records the Authorization header of each request it gets."""

    url: str
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # host, path, auth
    redirect_to: str | None = None

    @property
    def credentials(self) -> list[str]:
        return [auth for _, _, auth in self.seen if auth]


def _serve(listener: Listener, tls: ssl.SSLContext | None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            listener.seen.append((self.headers.get("Host", ""), self.path,
                                  self.headers.get("Authorization")))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if listener.redirect_to and not self.headers.get("Host", "").startswith(
                    "127.0.0.1"):
                self.send_response(302)
                self.send_header("Location", listener.redirect_to + self.path)
            else:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` and 127.0.0.1 (so TLS succeeds on both
    names and only the token policy tells them apart), and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def https_listener(tls_files) -> Iterator[Listener]:
    """A recording HTTPS listener whose certificate libgit2 trusts for this test."""
    cert_file, key_file = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = Listener("")
    server = _serve(listener, context)
    listener.url = f"https://localhost:{server.server_address[1]}"
    before = (pygit2.settings.ssl_cert_file, pygit2.settings.ssl_cert_dir)
    pygit2.settings.set_ssl_cert_locations(str(cert_file), None)
    try:
        yield listener
    finally:
        pygit2.settings.set_ssl_cert_locations(*before)
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_listener() -> Iterator[Listener]:
    """A recording plain-HTTP listener."""
    listener = Listener("")
    server = _serve(listener, None)
    listener.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield listener
    server.shutdown()
    server.server_close()

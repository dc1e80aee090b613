"""Sealed submissions: code that travels encrypted while the challenge's code is hidden.

A kit whose challenge.yml holds `seal_key: age1...` (the challenge's public key, made
by `gitramp seal keygen`) takes only sealed submissions until `gitramp phase open`
makes its code visible. A sealed submission folder holds two files:

    submissions/<name>/sealed.age     the files, encrypted to the kit's key with age
    submissions/<name>/manifest.yml   plain: {sealed: 1, envelope: <sha256>,
                                      files: [{path, size, sha256}, ...]}

Anyone may check the two without the key (`check`): the envelope is an age file whose
hash the manifest names, and the manifest's files follow the kit's folder rules. The
privileged runner holds the private key (the environment variable `GITRAMP_SEAL_KEY`
of the scoring job only); it opens an envelope (`open_envelope`) into the submission's
temporary folder, which is what the container is given and is removed after, and
checks every file against the manifest. `gitramp phase open` commits the plain files,
checked the same way. Inside the envelope is a JSON mapping {path: base64 of the
bytes}: no archive format, so no path in it is ever followed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
import yaml
from pygit2.enums import FileMode

from challenge.errors import GitrampError
from challenge.repo import FileEntry

ENVELOPE = "sealed.age"
MANIFEST = "manifest.yml"
KEY_ENV = "GITRAMP_SEAL_KEY"  # the runner's secret: the challenge's age identity
AGE_MAGIC = b"age-encryption.org/v1\n"
RECIPIENT_RE = re.compile(r"age1[0-9a-z]{58}")
FILE_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,99})*")
HOW_TO = ("seal it: run `gitramp submit --submission <name>` in your clone, which "
          "encrypts the folder to the challenge's key and commits sealed.age and "
          "manifest.yml in its place")


class SealError(GitrampError):
    """A sealed submission that does not open, or does not match its manifest."""


@dataclass(frozen=True)
class Manifest:
    envelope: str  # sha256 of sealed.age
    files: tuple[tuple[str, int, str], ...]  # (path, size, sha256)

    def to_bytes(self) -> bytes:
        return yaml.safe_dump({"sealed": 1, "envelope": self.envelope, "files": [
            {"path": p, "size": n, "sha256": h} for p, n, h in self.files]},
            sort_keys=False).encode()

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        try:
            raw = yaml.safe_load(data)
        except yaml.YAMLError:
            raise SealError(f"{MANIFEST} is not YAML") from None
        if not isinstance(raw, dict) or raw.get("sealed") != 1 or \
                not isinstance(raw.get("files"), list) or \
                not re.fullmatch(r"[0-9a-f]{64}", str(raw.get("envelope", ""))):
            raise SealError(f"{MANIFEST} must hold sealed: 1, envelope: <sha256> and "
                            "files: [{path, size, sha256}]")
        files = []
        for f in raw["files"]:
            if not isinstance(f, dict) or not isinstance(f.get("path"), str) or \
                    not isinstance(f.get("size"), int) or isinstance(f.get("size"), bool) \
                    or f["size"] < 0 or \
                    not re.fullmatch(r"[0-9a-f]{64}", str(f.get("sha256", ""))):
                raise SealError(f"{MANIFEST}: each file is {{path, size, sha256}}")
            files.append((f["path"], f["size"], f["sha256"]))
        if len({p for p, _, _ in files}) != len(files):
            raise SealError(f"{MANIFEST} names a file twice")
        return cls(raw["envelope"], tuple(files))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------- keys
def keygen() -> tuple[str, str]:
    """A new keypair: (public key for challenge.yml, private key for the runners)."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity.to_public()), str(identity)


def identity_from_env() -> str | None:
    return os.environ.get(KEY_ENV) or None


def required(seal_key: str | None, code_visible: bool) -> bool:
    """Whether submissions must be sealed: the kit has a key and its code is hidden."""
    return bool(seal_key) and not code_visible


# --------------------------------------------------------------------- sealing
def seal(files: dict[str, bytes], recipient: str) -> dict[str, bytes]:
    """`files` ({path: bytes}) as a sealed folder: {sealed.age: ..., manifest.yml: ...}."""
    from pyrage import encrypt, x25519

    if not RECIPIENT_RE.fullmatch(recipient or ""):
        raise SealError(f"{recipient!r} is not an age public key (age1...)")
    payload = json.dumps({p: base64.b64encode(d).decode() for p, d in sorted(files.items())},
                         sort_keys=True).encode()
    envelope = encrypt(payload, [x25519.Recipient.from_str(recipient)])
    manifest = Manifest(sha256(envelope), tuple((p, len(d), sha256(d))
                                                for p, d in sorted(files.items())))
    return {ENVELOPE: envelope, MANIFEST: manifest.to_bytes()}


def is_sealed(paths: set[str] | list[str]) -> bool:
    return set(paths) == {ENVELOPE, MANIFEST}


def check(files: list[FileEntry], read: Callable[[FileEntry], bytes],
          max_bytes: int) -> tuple[list[str], list[FileEntry]]:
    """Check a sealed folder without the key: (problems, the files its manifest lists,
    as entries the kit's folder rules can check)."""
    by_path = {f.path: f for f in files}
    env, man = by_path.get(ENVELOPE), by_path.get(MANIFEST)
    if env is None or man is None or len(files) != 2:
        return [f"a sealed submission holds exactly {ENVELOPE} and {MANIFEST}"], []
    if env.mode != FileMode.BLOB or man.mode != FileMode.BLOB:
        return [f"{ENVELOPE} and {MANIFEST} must be plain files"], []
    if man.size > 64 * 1024:
        return [f"{MANIFEST} is larger than 64 KB"], []
    # base64 inflates by 4/3, plus JSON and age's header and 64 KiB chunk tags
    if env.size > max_bytes * 4 // 3 + 4096 + env.size // 65536 * 16 + 16:
        return [f"{ENVELOPE} is larger than the kit's max_bytes allows"], []
    try:
        manifest = Manifest.parse(read(man))
    except SealError as e:
        return [str(e)], []
    data = read(env)
    problems = []
    if not data.startswith(AGE_MAGIC):
        problems.append(f"{ENVELOPE} is not an age file")
    if sha256(data) != manifest.envelope:
        problems.append(f"{ENVELOPE} does not have the hash {MANIFEST} names (was it "
                        "changed after sealing? seal again with gitramp submit)")
    listed = [FileEntry(p, FileMode.BLOB, "", n) for p, n, _ in manifest.files]
    return problems, listed


def open_envelope(envelope: bytes, manifest_data: bytes, identity: str) -> dict[str, bytes]:
    """Decrypt a sealed folder and check every file against its manifest."""
    from pyrage import DecryptError, decrypt, x25519

    manifest = Manifest.parse(manifest_data)
    if sha256(envelope) != manifest.envelope:
        raise SealError(f"{ENVELOPE} does not have the hash {MANIFEST} names")
    try:
        payload = decrypt(envelope, [x25519.Identity.from_str(identity.strip())])
    except (DecryptError, ValueError) as e:
        raise SealError(f"{ENVELOPE} does not open with the challenge's key ({e})") from None
    try:
        raw: Any = json.loads(payload)
        files = {str(p): base64.b64decode(v, validate=True) for p, v in raw.items()}
    except (ValueError, TypeError, AttributeError, binascii.Error):
        raise SealError(f"{ENVELOPE} holds no sealed folder") from None
    expected = {p: (n, h) for p, n, h in manifest.files}
    found = {p: (len(d), sha256(d)) for p, d in files.items()}
    if expected != found:
        differ = sorted(p for p in set(expected) | set(found)
                        if expected.get(p) != found.get(p))
        raise SealError(f"the sealed files differ from {MANIFEST} ({', '.join(differ[:5])})")
    bad = [p for p in files if not FILE_NAME_RE.fullmatch(p) or ".." in p.split("/")]
    if bad:
        raise SealError(f"the sealed files have names a submission may not use ({bad[0]!r})")
    return files


def open_folder(folder: Path, identity: str | None) -> bool:
    """Replace a sealed folder on disk (the runner's temporary export of a submission)
    by its plain files; False when the folder is not sealed."""
    folder = Path(folder)
    names = {p.name for p in folder.iterdir()}
    if not is_sealed(names):
        return False
    if not identity:
        raise SealError(f"the submission is sealed and this runner has no key ({KEY_ENV})")
    files = open_envelope((folder / ENVELOPE).read_bytes(), (folder / MANIFEST).read_bytes(),
                          identity)
    (folder / ENVELOPE).unlink()
    (folder / MANIFEST).unlink()
    for path, data in files.items():
        dest = folder / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return True


def plain_tree(repo: pygit2.Repository, tree: pygit2.Tree, identity: str) -> pygit2.Oid:
    """The tree of the plain files of a sealed submission folder's tree."""
    from challenge.ledger import put_path

    files = open_envelope(repo[tree[ENVELOPE].id].data, repo[tree[MANIFEST].id].data,
                          identity)
    out = None
    for path, data in sorted(files.items()):
        out = repo[put_path(repo, out, path, repo.create_blob(data), FileMode.BLOB)]
    if out is None:
        raise SealError("the sealed folder is empty")
    return out.id


def commit_sealed(repo: pygit2.Repository, base: pygit2.Commit, folder_path: str,
                  files: dict[str, bytes], recipient: str, ref: str, *, author: str,
                  message: str) -> pygit2.Oid:
    """Commit on `ref` (on top of `base`) the tree of `base` with `folder_path` holding
    `files` sealed to `recipient`, never the plain files; returns the commit."""
    from challenge.ledger import put_path

    sealed = seal(files, recipient)
    folder = None
    for name, data in sorted(sealed.items()):
        folder = repo[put_path(repo, folder, name, repo.create_blob(data), FileMode.BLOB)]
    tree = put_path(repo, base.tree, folder_path, folder.id, FileMode.TREE)
    try:
        sig = repo.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature(author, f"{author}@users.noreply.gitramp")
    return repo.create_commit(ref, sig, sig, message, tree, [base.id])

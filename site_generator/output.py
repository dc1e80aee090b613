"""The output folder, rewritten only where something changed.

A manifest beside the site records each file's content hash and, for pages that are
costly to render, the hash of what went into them. A rebuild skips rendering a page
whose inputs are unchanged, writes a file only when its bytes differ, and removes
files that the new build no longer produces.

A changed file is written over in place: making a new file and renaming it over the old
costs several times more (allocating its blocks, freeing the old ones), and a rebuild
after one new result rewrites hundreds of board pages. The manifest is removed before
the first such write and written again at the end, so a build that stops half way
leaves no manifest, and the next one writes every file again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".gitramp-site.json"
MANIFEST_VERSION = 1


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    skipped: int = 0  # not even rendered: inputs unchanged
    removed: int = 0


class Output:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.stats = WriteStats()
        self._old_files: dict[str, str] = {}
        self._old_inputs: dict[str, str] = {}
        self._files: dict[str, str] = {}
        self._inputs: dict[str, str] = {}
        self._made_dirs: set[Path] = set()
        self._manifest_removed = False
        self._listing: dict[str, set[str]] = {}  # folder -> its files, when read
        manifest = root / MANIFEST
        if manifest.is_file():
            try:
                data = json.loads(manifest.read_text())
                if data.get("version") == MANIFEST_VERSION:
                    self._old_files = dict(data.get("files", {}))
                    self._old_inputs = dict(data.get("inputs", {}))
            except (ValueError, AttributeError):
                pass  # an unreadable manifest only costs a full rebuild

    def fresh(self, path: str, inputs_key: str) -> bool:
        """Whether `path` was built from the same inputs and is still on disk; if so it
        is kept as it is and the caller need not render it."""
        if self._old_inputs.get(path) != inputs_key:
            return False
        digest = self._old_files.get(path)
        if digest is None or not self._exists(path):
            return False
        self._files[path] = digest
        self._inputs[path] = inputs_key
        self.stats.skipped += 1
        return True

    def _exists(self, path: str) -> bool:
        """Whether `path` is a file of the output, from one listing of its folder (a
        rebuild asks for ten thousand pages of one folder)."""
        folder, _, name = path.rpartition("/")
        names = self._listing.get(folder)
        if names is None:
            try:
                with os.scandir(self.root / folder) as it:
                    names = {e.name for e in it if e.is_file()}
            except OSError:
                names = set()
            self._listing[folder] = names
        return name in names

    def write(self, path: str, content: str | bytes, inputs_key: str | None = None) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        digest = hashlib.sha1(data).hexdigest()
        self._files[path] = digest
        if inputs_key is not None:
            self._inputs[path] = inputs_key
        target = self.root / path
        exists = self._exists(path)
        if exists and self._old_files.get(path) == digest:
            self.stats.unchanged += 1
            return
        if not self._manifest_removed:  # from now on the folder is not the manifest's
            (self.root / MANIFEST).unlink(missing_ok=True)
            self._manifest_removed = True
        if exists:
            with open(target, "r+b") as f:  # in place: see the module's note
                f.write(data)
                f.truncate()
        else:
            parent = target.parent
            if parent not in self._made_dirs:
                parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(parent)
            target.write_bytes(data)
        self.stats.written += 1

    def paths(self) -> set[str]:
        """The files this build has produced so far (written or kept)."""
        return set(self._files)

    def finish(self) -> WriteStats:
        for path in set(self._old_files) - set(self._files):
            target = self.root / path
            if target.is_file():
                target.unlink()
                self.stats.removed += 1
        manifest = self.root / MANIFEST
        tmp = manifest.with_name(manifest.name + ".tmp")
        tmp.write_text(json.dumps(  # in the build's order: sorting its keys buys nothing
            {"version": MANIFEST_VERSION, "files": self._files, "inputs": self._inputs},
            separators=(",", ":")))
        os.replace(tmp, manifest)
        return self.stats

"""The output folder, rewritten only where something changed.

A manifest beside the site records each file's content hash and, for pages that are
costly to render, the hash of what went into them. A rebuild skips rendering a page
whose inputs are unchanged, writes a file only when its bytes differ, and removes
files that the new build no longer produces.

The manifest is the folder MANIFEST: PARTS parts by a hash of the file's path (the
submission and team pages apart from the rest), and a mark that the parts describe the
folder. A part is written only when its entries changed, and none grows with the site
past a small share of it (one file listing a 100,000-submission site was 21 MB).

A changed file is written over in place: making a new file and renaming it over the old
costs several times more (allocating its blocks, freeing the old ones), and a rebuild
after one new result rewrites hundreds of board pages. The mark is removed before the
first such write and written again at the end, so a build that stops half way leaves
no manifest, and the next one writes every file again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

MANIFEST = ".gitramp-site"  # a folder in the output
MANIFEST_VERSION = 3
PARTS = 64
COMPLETE = "complete"  # the mark: written last, removed before the first change
LEGACY_MANIFEST = ".gitramp-site.json"  # version 1, one file: removed
# Submission and team pages (each challenge's s/ and team/ folders) are most of a big
# site's files, and a new result leaves all of them but its own: they have parts of
# their own, so that a rebuild rewrites the few parts of the boards and data files and
# one or two of theirs, not every part.
QUIET_FOLDERS = ("/s/", "/team/")
QUIET_PARTS = 48


def _part(path: str) -> int:
    h = int(hashlib.sha1(path.encode()).hexdigest()[:8], 16)
    if any(q in path for q in QUIET_FOLDERS):
        return PARTS - QUIET_PARTS + h % QUIET_PARTS
    return h % (PARTS - QUIET_PARTS)


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
        # the last build's files kept with what the manifest says of them (`keep`): in
        # neither mapping above unless this build wrote them again
        self._carried: set[str] = set()
        self._made_dirs: set[Path] = set()
        self._manifest_removed = False
        self._listing: dict[str, set[str]] = {}  # folder -> its files, when read
        self._old_parts: dict[int, list[dict[str, str]]] = {}
        self._part_of: dict[str, int] = {}  # a file's part, as the manifest read holds it
        folder = root / MANIFEST
        read = False
        try:
            mark = json.loads((folder / COMPLETE).read_text())
            if mark.get("version") == MANIFEST_VERSION and mark.get("parts") == PARTS:
                for i in range(PARTS):
                    files, inputs = json.loads((folder / f"{i:02d}.json").read_text())
                    self._old_parts[i] = [files, inputs]
                    self._part_of.update(dict.fromkeys(inputs, i))
                    self._part_of.update(dict.fromkeys(files, i))
                    self._old_files.update(files)
                    self._old_inputs.update(inputs)
                read = True
        except (OSError, ValueError, AttributeError, TypeError):
            pass
        if not read:  # a missing or unreadable manifest only costs a full rebuild...
            self._old_files, self._old_inputs, self._old_parts = {}, {}, {}
            self._part_of = {}
        # ...and, in a folder a build of this generator wrote (a build stopped half way,
        # a manifest of another version), which files are the last build's is not known:
        # finish() then removes every file this build does not make, so that no page of
        # a record gone stays published. A folder it never wrote is left as it is.
        self._sweep = not read and (folder.is_dir() or (root / LEGACY_MANIFEST).is_file())

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

    def keep_folder(self, folder: str, inputs_key: str) -> bool:
        """Whether every file the last build made under `folder` came from the same
        inputs (`inputs_key`, what all of them are made of) and is still on disk; if
        so they are all kept as they are, none rendered or keyed again (a challenge
        with nothing new, or another challenge of the hub than the one that changed)."""
        mark = f"{folder}/"
        if self._old_inputs.get(mark) != inputs_key:
            return False
        paths = [p for p in self._old_files if p.startswith(mark)]
        if not all(map(self._exists, paths)):
            return False
        for p in paths:
            self._files[p] = self._old_files[p]
            key = self._old_inputs.get(p)
            if key is not None:
                self._inputs[p] = key
        for p, key in self._old_inputs.items():  # the marks of its parts (see `mark`)
            if p.startswith(mark) and p.endswith("/"):
                self._inputs[p] = key
        self._inputs[mark] = inputs_key
        self.stats.skipped += len(paths)
        return True

    def keep(self, folder: str, names: Iterable[str]) -> set[str]:
        """Keep the last build's files `names` of `folder` as they are, with the inputs
        keys the manifest holds (their inputs are known to be unchanged); gives the
        names of those not kept (not in the manifest, or no longer on disk), to be made
        again. In set operations, and carried over to the manifest as a set (never
        copied one by one): a rebuild keeps ten thousand submission pages so."""
        prefix = f"{folder}/"
        names = set(names)
        ok = set(map(prefix.__add__, names & self._files_of(folder)))
        ok &= self._old_files.keys() & self._old_inputs.keys()
        self._carried |= ok
        self.stats.skipped += len(ok)
        return names - set(map(itemgetter(slice(len(prefix), None)), ok))

    def last_mark(self, name: str) -> str | None:
        """The last build's mark `name` (see `mark`)."""
        return self._old_inputs.get(name)

    def mark(self, name: str, value: str) -> None:
        """Note `value` under `name` in the manifest: a folder's path and "/", kept with
        the folder by `keep_folder` (what a cache beside the site was made with)."""
        self._inputs[name] = value

    def folder_made(self, folder: str, inputs_key: str) -> None:
        """Note that this build made the files under `folder` from `inputs_key` (see
        `keep_folder`)."""
        self._inputs[f"{folder}/"] = inputs_key

    def _exists(self, path: str) -> bool:
        """Whether `path` is a file of the output, from one listing of its folder (a
        rebuild asks for ten thousand pages of one folder)."""
        folder, _, name = path.rpartition("/")
        return name in self._files_of(folder)

    def _files_of(self, folder: str) -> set[str]:
        """The names of the files in `folder` of the output, listed once a build."""
        names = self._listing.get(folder)
        if names is None:
            try:
                with os.scandir(self.root / folder) as it:
                    names = {e.name for e in it if e.is_file()}
            except OSError:
                names = set()
            self._listing[folder] = names
        return names

    def write(self, path: str, content: str | bytes, inputs_key: str | None = None) -> None:
        # every path is made of slugs and the build's own names; this holds whatever a
        # cache or a record handed the build, for a file outside the folder is no page
        if path[:1] == "/" or any(p in ("", ".", "..") for p in path.split("/")):
            raise ValueError(f"{path!r}: not a file of the site's folder")
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
            (self.root / MANIFEST / COMPLETE).unlink(missing_ok=True)
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

    def _remove_unmade(self) -> None:
        """Remove every file (or link) under the output that this build did not make,
        and the folders left empty, but the manifest's."""
        made = self._files.keys() | self._carried
        for top, dirs, files in os.walk(self.root, topdown=False):
            rel = os.path.relpath(top, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            if prefix.split("/", 1)[0] == MANIFEST:
                continue
            for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
                if prefix + name not in made:
                    os.unlink(os.path.join(top, name))
                    self.stats.removed += 1
            if prefix and not os.listdir(top):
                os.rmdir(top)

    def paths(self) -> set[str]:
        """The files this build has produced so far (written or kept)."""
        return self._files.keys() | self._carried

    def _parts(self) -> dict[int, list[dict[str, str]]]:
        """The manifest's parts that differ from the last build's, by number: a rebuild
        after one new result changes a few hundred of twenty thousand entries, so the
        parts are the last ones with what changed, not made anew."""
        old_parts = self._old_parts
        dirty: dict[int, list[dict[str, str]]] = {}
        if len(old_parts) != PARTS:  # none read: every part is written
            old_parts = dirty = {i: [{}, {}] for i in range(PARTS)}
        part_of = self._part_of  # not hashed again: 0.03 s of a rebuild at 10,000

        def part(path: str) -> list[dict[str, str]]:
            """This build's copy of the part holding `path`, made when first needed."""
            i = part_of.get(path)
            if i is None:
                i = part_of[path] = _part(path)
            held = dirty.get(i)
            if held is None:
                held = dirty[i] = [dict(d) for d in old_parts[i]]
            return held
        carried = self._carried  # as the last build left them: no part changes for them
        for k, (now, old) in enumerate(((self._files, self._old_files),
                                         (self._inputs, self._old_inputs))):
            was = old.get
            changed = [(path, value) for path, value in now.items() if was(path) != value]
            for path in old.keys() - now.keys() - carried:
                part(path)[k].pop(path, None)  # a part edited by hand may not hold it
            for path, value in changed:
                part(path)[k][path] = value
        return dirty

    def finish(self) -> WriteStats:
        for path in self._old_files.keys() - self._files.keys() - self._carried:
            target = self.root / path
            if target.is_file():
                target.unlink()
                self.stats.removed += 1
        if self._sweep:
            self._remove_unmade()
        parts = self._parts()
        folder = self.root / MANIFEST
        folder.mkdir(exist_ok=True)
        (folder / COMPLETE).unlink(missing_ok=True)  # a crash below leaves no manifest
        for i, part in parts.items():
            (folder / f"{i:02d}.json").write_text(json.dumps(part, separators=(",", ":")))
        (folder / COMPLETE).write_text(json.dumps({"version": MANIFEST_VERSION,
                                                   "parts": PARTS}))
        (self.root / LEGACY_MANIFEST).unlink(missing_ok=True)
        return self.stats

"""What comes out of the container, read as untrusted data.

`read_outputs` walks the tar stream of `container.get_archive('/out')`: regular
files named on scorer.outputs' allowlist, directly in /out, size-capped; a link or
any other kind of entry is refused, and nothing is ever followed or written on the
host. `LogCapture` keeps the head and the tail of what the submission printed,
within a byte cap, and marks what it cut.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable, Iterable, Iterator

from scorer.run_files import OUTPUT_ALLOWLIST

FOLD_DONE = re.compile(rb"^ingest: fold (\d{1,3}) done\r?$", re.M)


class OutputLimit(Exception):
    """The outputs are larger than the kit allows."""


class UnsafeOutput(Exception):
    """An output that is not a plain file: a link, a device, a folder, ..."""


class _ChunkReader:
    """A file-like view of an iterator of byte chunks, refusing to read past `cap`."""

    def __init__(self, chunks: Iterable[bytes], cap: int):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buf = b""
        self._left = cap

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._left -= len(chunk)
            if self._left < 0:
                raise OutputLimit("the archive of /out is larger than the output limit")
            self._buf += chunk
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


def read_outputs(chunks: Iterable[bytes], max_bytes: int, root: str = "out") -> dict[str, bytes]:
    """The files of /out by name. Names off the allowlist map to b"" (never read), so
    the scorer can say which unexpected file was there."""
    files: dict[str, bytes] = {}
    # Tar adds 512-byte headers and padding per member; allow for them on the stream.
    reader = _ChunkReader(chunks, cap=2 * max_bytes + 1024**2)
    try:
        return _read_members(reader, max_bytes, root, files)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise UnsafeOutput(f"the output folder could not be read as plain files ({e}); "
                           "was something still writing to it?") from None


def _read_members(reader, max_bytes: int, root: str, files: dict[str, bytes]):
    total = 0
    with tarfile.open(fileobj=reader, mode="r|") as tar:
        for member in tar:
            name = member.name
            if name in (root, root + "/", "."):
                continue
            if not name.startswith(root + "/") or "/" in name[len(root) + 1:].rstrip("/"):
                raise UnsafeOutput(f"{name!r} is inside a folder; outputs are plain files "
                                   "directly in the output folder")
            base = name[len(root) + 1:]
            if member.issym() or member.islnk():
                raise UnsafeOutput(f"{base} is a link (to {member.linkname!r}); outputs must "
                                   "be regular files written by the workflow")
            if not member.isreg():
                raise UnsafeOutput(f"{base} is not a regular file")
            total += member.size  # every file counts, named on the allowlist or not
            if total > max_bytes:
                raise OutputLimit(f"the output folder holds more than {max_bytes} bytes "
                                  f"(reached at {base})")
            if not OUTPUT_ALLOWLIST.match(base):
                files[base] = b""
                continue
            f = tar.extractfile(member)
            files[base] = f.read() if f else b""
    return files


class LogCapture:
    """The first and last bytes of a stream, at most `cap` in all, with a cut mark."""

    def __init__(self, cap: int, on_fold_done: Callable[[int], None] | None = None):
        self.cap = max(cap, 1024)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0
        self.on_fold_done = on_fold_done  # may be set later, before the run starts
        self._partial = b""  # the unfinished last line, for progress parsing

    def feed(self, chunk: bytes) -> None:
        if self.on_fold_done:
            self._progress(chunk)
        head_room = self.cap // 4 - len(self.head)
        if head_room > 0:
            self.head += chunk[:head_room]
            chunk = chunk[head_room:]
        self.tail += chunk
        excess = len(self.tail) - (self.cap - self.cap // 4)
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def _progress(self, chunk: bytes) -> None:
        # Progress only: a submission can print these lines too, so they never set
        # a status; a bounded line buffer keeps a flood from growing memory.
        data = (self._partial + chunk)[-4096:]
        lines, _, self._partial = data.rpartition(b"\n")
        for m in FOLD_DONE.finditer(lines):
            self.on_fold_done(int(m.group(1)))

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        mark = b""
        if self.dropped:
            mark = (f"\n[... {self.dropped} bytes of output cut here: the log is capped at "
                    f"{self.cap} bytes ...]\n").encode()
        return (bytes(self.head) + mark + bytes(self.tail)).decode("utf-8", errors="replace")

"""Fetching dataset files safely (stdlib only): stream to a temporary file next to the target, check the md5,
and only then rename it into place - an interrupted or corrupted download never leaves a file that looks
complete. Mirrors are tried in order; when all fail the error lists each mirror's reason.
"""
import hashlib
import os
import sys
import tempfile
import time

__all__ = ["md5sum", "download_file", "DownloadError"]

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """No mirror delivered the file with the expected md5."""


def md5sum(path=None, data=None):
    """The md5 hex digest of a file (or of ``data`` bytes)."""
    h = hashlib.md5(usedforsecurity=False)
    if data is not None:
        h.update(data)
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def urlopen(url, timeout=30):
    """The opener used for every download (tests replace it; ``file://`` URLs work too)."""
    import urllib.request                        # ~65 ms to import (http, ssl, email): only when a file is fetched
    req = urllib.request.Request(url, headers={"User-Agent": "chainrule (python urllib)"})
    return urllib.request.urlopen(req, timeout=timeout)


class _Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, printed once at the end otherwise)."""

    def __init__(self, name, total, stream=None):
        self.name, self.total, self.done = name, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last = 0.0

    def _line(self):
        mb = self.done / 1e6
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            return f"  {self.name}: [{bar:<30}] {frac * 100:5.1f}% {mb:.1f}/{self.total / 1e6:.1f} MB"
        return f"  {self.name}: {mb:.1f} MB"

    def update(self, n):
        self.done += n
        now = time.monotonic()
        if self.tty and now - self.last > 0.1:
            self.last = now
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def close(self):
        self.stream.write(("\r" if self.tty else "") + self._line() + "\n")
        self.stream.flush()


def download_file(urls, dest, md5=None, progress=True, timeout=30):
    """Download the first of ``urls`` that works to ``dest`` (md5-checked when ``md5`` is given).

    Returns ``dest``. Raises ``DownloadError`` listing every URL tried and why it failed."""
    dest = os.fspath(dest)
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    errors = []
    for url in urls:
        tmp = None
        try:
            if progress:
                sys.stderr.write(f"Downloading {url}\n")
            with urlopen(url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
                total = int(length) if length and str(length).isdigit() else None
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(dest) + ".", suffix=".part")
                h = hashlib.md5(usedforsecurity=False)
                done = 0
                bar = _Progress(os.path.basename(dest), total) if progress else None
                with os.fdopen(fd, "wb") as out:
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        out.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        if bar:
                            bar.update(len(chunk))
                if bar:
                    bar.close()
            got = h.hexdigest()
            if total is not None and done != total:
                errors.append(f"{url}: connection closed after {done} of {total} bytes")
                continue
            if md5 is not None and got != md5:
                errors.append(f"{url}: md5 mismatch (got {got}, expected {md5}): corrupted or wrong file")
                continue
            os.replace(tmp, dest)
            tmp = None
            return dest
        except Exception as e:          # network, HTTP, file system: try the next mirror, report them all
            errors.append(f"{url}: {type(e).__name__}: {e}")
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
    raise DownloadError(f"could not download {os.path.basename(dest)}:\n    " + "\n    ".join(errors))

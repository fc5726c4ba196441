"""The one url_fetcher every PDF is rendered with: the package's own styles and fonts, and nothing else.

User text reaches every PDF (titles, partners, comments). Autoescaping prints any markup in it as text;
this fetcher is the second wall. Should a reference to a file, a URL or a `data:` resource ever reach the
HTML or its CSS, WeasyPrint asks the fetcher, is refused, and renders on without it: nothing is read
from the disk or the network, and nothing is embedded. Fonts come from fontconfig, not from URLs.

Imports WeasyPrint: the renderers import this module inside the functions that make PDFs, so loading
the app stays quick.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint import URLFetcher

# Where the package keeps what a PDF may load, and the kinds of file that are styles or fonts.
OWN_FILES = Path(__file__).resolve().parent / "static"
STYLE_AND_FONT_SUFFIXES = frozenset({".css", ".otf", ".ttf", ".woff", ".woff2"})


def own_file(url: str) -> Path | None:
    """The package's own style or font that `url` names, or None for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(url2pathname(parts.path)).resolve()  # "..", and links, resolved before the check
    if not path.is_relative_to(OWN_FILES) or path.suffix.lower() not in STYLE_AND_FONT_SUFFIXES:
        return None
    return path if path.is_file() else None


class OwnFilesOnly(URLFetcher):
    """WeasyPrint's fetcher, refusing every URL that is not one of the package's own styles or fonts."""

    def fetch(self, url, headers=None):
        path = own_file(url)
        if path is None:
            raise ValueError(f"a PDF loads only fundflow's own styles and fonts, not {url[:80]}")
        return super().fetch(path.as_uri(), headers)


def url_fetcher() -> OwnFilesOnly:
    """A fetcher for one rendering (one each: WeasyPrint's fetcher keeps state while it opens a URL)."""
    return OwnFilesOnly(allowed_protocols=("file",), allow_redirects=False, timeout=5)


__all__ = ["url_fetcher", "OwnFilesOnly", "own_file", "OWN_FILES"]

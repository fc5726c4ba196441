"""Is an uploaded file a PDF that only shows pages? Parsed with pypdf, never trusted by its first bytes.

A PDF can carry more than pages: JavaScript (a `/JS` or `/JavaScript` entry,
an action whose `/S` is `/JavaScript`, an XFA form), actions that start a
program (`/Launch`) and whole files (`/EmbeddedFiles`, `/FileAttachment`
annotations, file specifications with an `/EF` stream). Any of them can be
set off by the document's `/OpenAction`, a page's or an annotation's `/A` and
`/AA` actions, or a name tree, so the check walks every object reachable from
the trailer and looks at every dictionary, wherever it sits.

The file comes from anyone who can sign in, so the check must not be turned
against the server: every parser exception is a refusal (never a 500), the
walk is iterative (no recursion a deep nesting could exhaust), visits each
object once (cycles end), and gives up, refusing, after MAX_OBJECTS objects
or MAX_SECONDS.
"""
from __future__ import annotations

import io
import logging
import time
import warnings

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from .errors import N_, InvalidInput

MAX_OBJECTS = 100_000  # a 500-page text report has some 30,000; scans have far fewer
MAX_SECONDS = 5.0

NOT_PDF = N_("the file is not a PDF")
ENCRYPTED = N_("the PDF is encrypted or password-protected; upload it without a password")
JAVASCRIPT = N_("the PDF contains JavaScript; save it again without scripts")
LAUNCH = N_("the PDF contains an action that starts a program; remove it and upload again")
EMBEDDED = N_("the PDF contains embedded files; upload each document as a PDF of its own")
TOO_COMPLEX = N_("the PDF is too complex to check; save it again (for example, print to PDF) and upload that")

_JS_KEYS = frozenset({"/JS", "/JavaScript", "/XFA"})  # XFA forms carry their own scripts
_EMBEDDED_KEYS = frozenset({"/EmbeddedFiles", "/EF"})
_ACTION_TYPES = {"/JavaScript": JAVASCRIPT, "/Launch": LAUNCH, "/GoToE": EMBEDDED}
_SUBTYPES = {"/FileAttachment": EMBEDDED, "/RichMedia": EMBEDDED}


class _Budget(Exception):
    """The walk ran out of objects or time."""


def check(content: bytes) -> None:
    """Refuse (InvalidInput at `file`) anything but a readable, unencrypted PDF with no scripts,
    launch actions or embedded files."""
    reason = refusal(content)
    if reason is not None:
        raise InvalidInput(reason, {"file": [reason]})


def refusal(content: bytes) -> str | None:
    """Why the file is refused (one of the messages above), or None when it is a plain PDF."""
    if not content.startswith(b"%PDF-"):
        return NOT_PDF
    # pypdf reports what it repairs through logging and warnings; a hostile file is not worth a log line.
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _inspect(content)
    except _Budget:
        return TOO_COMPLEX
    except Exception:  # noqa: BLE001 - whatever a malformed file makes the parser raise is a refusal
        return NOT_PDF
    finally:
        pypdf_log.setLevel(level)


def _inspect(content: bytes) -> str | None:
    reader = PdfReader(io.BytesIO(content), strict=False)
    if reader.is_encrypted:
        return ENCRYPTED
    if len(reader.pages) < 1:
        return NOT_PDF
    return _walk(reader.trailer, time.monotonic() + MAX_SECONDS)


def _walk(root, deadline: float) -> str | None:
    """Visit every object reachable from `root` once; the first dictionary that is refused, or None."""
    stack, seen, visited = [root], set(), 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        visited += 1
        if visited > MAX_OBJECTS or (visited % 1000 == 0 and time.monotonic() > deadline):
            raise _Budget()
        if isinstance(node, DictionaryObject):
            reason = _dictionary_refusal(node)
            if reason is not None:
                return reason
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


def _dictionary_refusal(d: DictionaryObject) -> str | None:
    keys = set(d.keys())
    if keys & _JS_KEYS:
        return JAVASCRIPT
    if "/Launch" in keys:  # a /Launch entry of an /AA dictionary, or a Windows launch parameter set
        return LAUNCH
    if keys & _EMBEDDED_KEYS:
        return EMBEDDED
    action, subtype = _name(d.get("/S")), _name(d.get("/Subtype"))
    return _ACTION_TYPES.get(action) or _SUBTYPES.get(subtype)


def _name(value) -> str | None:
    if isinstance(value, IndirectObject):
        value = value.get_object()
    return value if isinstance(value, str) else None

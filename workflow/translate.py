"""The pages' message catalogues: extract the English messages, merge them into each language, compile.

English is the source language of the code; Chinese is the catalogue every page
is shown in by default, so a message without its Chinese is a defect that
`untranslated()` finds (and a test fails on).
"""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent  # a checkout: workflow/, forms/ and templates/ side by side
TRANSLATIONS = PACKAGE / "translations"
LANGUAGES = ("zh",)
# N_ marks a string for the catalogue without translating it there (a service's English message).
KEYWORDS = {"N_": None, "_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}
SOURCES = (("workflow", "python", "**.py"), ("forms", "python", "**.py"), ("templates", "jinja2", "**.html"))


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def extract() -> Catalog:
    """Every message the code and templates mark for translation."""
    template = Catalog(project="fundflow", fuzzy=False)
    for folder, method, pattern in SOURCES:
        extracted = extract_from_dir(ROOT / folder, method_map=[(pattern, method)], keywords=KEYWORDS,
                                     options_map={pattern: {"extensions": "jinja2.ext.do"}},
                                     strip_comment_tags=True)
        for filename, lineno, message, comments, context in extracted:
            template.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language)
    with path.open("rb") as f:
        return read_po(f, locale=language)


def write(catalog: Catalog, language: str) -> None:
    catalog.fuzzy = False
    catalog.project, catalog.version = "fundflow", "1"
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, sort_output=True, ignore_obsolete=True)
    compile_catalog(language)


def update() -> dict[str, int]:
    """Merge newly marked messages into each catalogue (dropping ones no longer used); compile."""
    template = extract()
    counts = {}
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True)
        write(catalog, language)
        counts[language] = len(untranslated(language))
    return counts


def compile_catalog(language: str) -> Path:
    catalog = read(language)
    out = po_path(language).with_suffix(".mo")
    buffer = BytesIO()
    write_mo(buffer, catalog)
    out.write_bytes(buffer.getvalue())
    return out


def untranslated(language: str) -> list[str]:
    return [m.id if isinstance(m.id, str) else m.id[0] for m in read(language)
            if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)]

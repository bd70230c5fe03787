"""feedparser's RFC 3023 character-set decision, made without decoding the body.

Content-Type first, then the XML declaration, then a BOM, then feedparser's
fallbacks (UTF-8, windows-1252, ISO-8859-2), with the warning feedparser
attaches when it overrides the declared charset or the media type is not XML.
UTF-8, ASCII and one-byte charsets are handed to expat as bytes; anything
else is decoded once.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from feedparser.encodings import RE_XML_PI_ENCODING as _XML_PI_ENCODING
from feedparser.encodings import parse_content_type as _parse_content_type

_APPLICATION_XML: Final = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML: Final = ("text/xml", "text/xml-external-parsed-entity")
_WIDE_NAMES: Final = frozenset(
    "u16 utf-16 utf16 utf_16 u32 utf-32 utf32 utf_32 iso-10646-ucs-2 "
    "iso-10646-ucs-4 csucs4 csunicode ucs-2 ucs-4".split()
)
_ASCII: Final = "".join(map(chr, range(128)))


@dataclass(slots=True)
class Charset:
    name: str  # as feedparser names it in its warning
    offset: int  # bytes of BOM before the data
    expat: str | None = None  # feed the bytes to expat in this encoding
    text: str | None = None  # or this decoded text
    problem: tuple[str, str] | None = None
    trusted: bool = False  # UTF-8 assumed, not checked


@lru_cache(maxsize=128)
def _single_byte(name: str) -> re.Pattern[bytes] | bool | None:
    """For an ASCII-compatible one-byte charmap codec: a pattern of the bytes it
    cannot decode, or None when it decodes every byte. False for any other codec."""
    info = codecs.lookup(name)
    owner = getattr(info.decode, "__self__", None)
    module = sys.modules.get(type(owner).__module__) if owner is not None else None
    table = getattr(module, "decoding_table", None)
    if not isinstance(table, str) or len(table) != 256 or table[:128] != _ASCII:
        return False
    holes = bytes(i for i, char in enumerate(table) if char == "\ufffe")
    if not holes:
        return None
    return re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in holes) + b"]")


def choose_charset(
    body: bytes, headers: Mapping[str, str], *, not_utf8: bool = False
) -> Charset | None:
    """feedparser's RFC 3023 charset decision (encodings.convert_to_utf8), made
    without decoding the body when the charset is UTF-8, ASCII or one-byte.

    UTF-8 is taken on trust (expat checks it while parsing); not_utf8 says the
    body turned out not to be UTF-8, so the choice moves on as feedparser's would.
    """
    bom, offset = "", 0
    head = body[:4]
    if head == codecs.BOM_UTF32_BE:
        bom, offset = "utf-32be", 4
    elif head == codecs.BOM_UTF32_LE:
        bom, offset = "utf-32le", 4
    elif head[:2] == codecs.BOM_UTF16_BE:
        bom, offset = "utf-16be", 2
    elif head[:2] == codecs.BOM_UTF16_LE:
        bom, offset = "utf-16le", 2
    elif head[:3] == codecs.BOM_UTF8:
        bom, offset = "utf-8", 3
    elif head == b"\x4c\x6f\xa7\x94":
        bom = "cp037"
    elif head == b"\x00\x3c\x00\x3f":
        bom = "utf-16be"
    elif head == b"\x3c\x00\x3f\x00":
        bom = "utf-16le"
    elif head == b"\x00\x00\x00\x3c":
        bom = "utf-32be"
    elif head == b"\x3c\x00\x00\x00":
        bom = "utf-32le"
    data = memoryview(body)[offset:]

    match: Any = None
    if not bom:
        match = _XML_PI_ENCODING.match(body)
    else:
        try:
            declared = str(data, bom).encode("utf-8")  # a BOM is rare: one decode
        except (UnicodeDecodeError, LookupError):
            declared = None
        if declared is not None:
            match = _XML_PI_ENCODING.match(declared)
    xml_encoding = ""
    if match:
        try:
            xml_encoding = match.group(1).decode("utf-8").lower()
        except UnicodeDecodeError:
            return None  # feedparser itself fails here
        if bom and xml_encoding in _WIDE_NAMES:
            xml_encoding = bom

    content_type, http_encoding = _parse_content_type(headers.get("content-type") or "")
    acceptable = False
    if content_type in _APPLICATION_XML or (
        content_type.startswith("application/") and content_type.endswith("+xml")
    ):
        acceptable = True
        declared_encoding = http_encoding or xml_encoding or "utf-8"
    elif content_type in _TEXT_XML or (
        content_type.startswith("text/") and content_type.endswith("+xml")
    ):
        acceptable = True
        declared_encoding = http_encoding or "us-ascii"
    elif content_type.startswith("text/"):
        declared_encoding = http_encoding or "us-ascii"
    elif headers and "content-type" not in headers:
        declared_encoding = xml_encoding or "iso-8859-1"
    else:
        declared_encoding = xml_encoding or "utf-8"
    if declared_encoding.lower() == "gb2312":
        declared_encoding = "gb18030"
    if xml_encoding.lower() == "gb2312":
        xml_encoding = "gb18030"

    problem: tuple[str, str] | None = None
    if headers and not acceptable:
        if "content-type" in headers:
            message = f"{headers['content-type']} is not an XML media type"
        else:
            message = "no Content-type specified"
        problem = ("NonXMLContentType", message)

    tried: list[str] = []
    for proposed in (
        declared_encoding,
        xml_encoding,
        bom,
        None,
        "utf-8",
        "windows-1252",
        "iso-8859-2",
    ):
        if proposed is None:
            from feedparser import encodings  # chardet, when installed, votes here

            if encodings.lazy_chardet_encoding is not None:
                return None
            continue
        if not proposed or proposed in tried:
            continue
        tried.append(proposed)
        choice = _try_charset(proposed, body, offset, not_utf8)
        if choice is None:
            continue
        if choice.expat is not None and bom and bom != "utf-8":
            # UTF-16/32 or EBCDIC bytes read as a byte charset: expat would
            # detect the wide encoding on its own and disagree with feedparser
            return None
        if proposed != declared_encoding:
            problem = (
                "CharacterEncodingOverride",
                f"document declared as {declared_encoding}, but parsed as {proposed}",
            )
        choice.problem = problem
        return choice
    return None


def _try_charset(name: str, body: bytes, offset: int, not_utf8: bool) -> Charset | None:
    """The charset if `bytes.decode(name)` would succeed on data, else None.

    UTF-8 is assumed valid: expat checks it as it parses, and a failure sends
    the whole feed to feedparser, which then makes its own choice."""
    try:
        b"".decode(name)  # unknown names and non-text codecs raise LookupError
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if canonical == "utf-8":
        return None if not_utf8 else Charset(name, offset, expat="utf-8", trusted=True)
    if canonical == "ascii":
        ascii_only = (body[offset:] if offset else body).isascii()
        return Charset(name, offset, expat="utf-8") if ascii_only else None
    if canonical == "iso8859-1":
        return Charset(name, offset, expat="iso-8859-1")
    holes = _single_byte(canonical)
    if holes is None:
        return Charset(name, offset, expat=canonical)
    if isinstance(holes, re.Pattern):
        found = holes.search(body, offset)
        return None if found else Charset(name, offset, expat=canonical)
    try:
        return Charset(name, offset, text=str(memoryview(body)[offset:], name))
    except UnicodeDecodeError:
        return None

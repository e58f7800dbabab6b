"""Résumé files: which kind a file is, decided from its content, and its text.

The kind comes from the bytes, never from a file name or a client's content type:
puremagic names the format its signature says, and the format's own parser must then
open the file (pypdf, python-docx, odfdo, striprtf); a ZIP container is a DOCX or an ODT
only when that parser finds one inside it. Anything else is refused with a sentence for
the uploader (`UnreadableDocument`).

A hostile file can make any parser slow or greedy, so these functions run only in a
child process with a deadline and a memory limit (`backend.core.sandbox`), never in a
server's or a worker's own process.
"""

import enum
import io
import re
import zipfile
from dataclasses import dataclass

import docx
import odfdo
import puremagic
from docx.table import Table
from pypdf import PdfReader
from striprtf.striprtf import rtf_to_text


class DocumentType(enum.StrEnum):
    """The kinds of résumé the board takes, by their media type."""

    pdf = "application/pdf"
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    odt = "application/vnd.oasis.opendocument.text"
    rtf = "application/rtf"
    text = "text/plain"


# The extension a download's file name ends with, whatever the uploader called it.
EXTENSIONS = {
    DocumentType.pdf: ".pdf",
    DocumentType.docx: ".docx",
    DocumentType.odt: ".odt",
    DocumentType.rtf: ".rtf",
    DocumentType.text: ".txt",
}

ACCEPTED = "PDF, DOCX, ODT, RTF or plain text (UTF-8)"


class UnreadableDocument(Exception):
    """The file is not a résumé the board takes; the message says why, for the uploader."""


@dataclass(frozen=True, slots=True)
class Limits:
    # Pages a PDF may have; parts and unpacked bytes a DOCX or ODT (a ZIP) may hold.
    max_pages: int
    max_parts: int = 1000
    max_unpacked_bytes: int = 64 * 1024 * 1024
    # Characters of text kept from a file (a résumé is a few thousand).
    max_text_chars: int = 100_000


@dataclass(frozen=True, slots=True)
class Inspection:
    type: DocumentType
    pages: int | None


# Control characters a text file may not hold (tabs, line breaks and form feeds it may).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SIGNATURES = {".pdf": DocumentType.pdf, ".rtf": DocumentType.rtf}


def _signature(data: bytes) -> DocumentType | None:
    """The format the file's signature names, among the ones taken (None: no such one)."""
    try:
        matches = puremagic.magic_string(data)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.extension in _SIGNATURES:
            return _SIGNATURES[match.extension]
    return None


def _container(data: bytes, limits: Limits) -> DocumentType:
    """A DOCX or an ODT, by which parser finds its document inside the ZIP; its declared
    sizes are checked first, and reading a part never yields more than its declared size."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
    if len(parts) > limits.max_parts:
        raise UnreadableDocument(f"The file holds more than {limits.max_parts} parts.")
    if sum(part.file_size for part in parts) > limits.max_unpacked_bytes:
        raise UnreadableDocument(
            f"The file unpacks to more than {limits.max_unpacked_bytes // 2**20} MB."
        )
    try:
        _docx_text(docx.Document(io.BytesIO(data)), limit=1)
    except Exception:  # noqa: S110 - not a Word document: maybe an ODT
        pass
    else:
        return DocumentType.docx
    try:
        document = odfdo.Document(io.BytesIO(data))
    except Exception as error:
        raise UnreadableDocument("The file is a ZIP archive but not a DOCX or ODT.") from error
    if document.get_type() != "text":
        raise UnreadableDocument("The file is an OpenDocument file but not a text document.")
    return DocumentType.odt


def _plain_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableDocument(f"The file is not {ACCEPTED}.") from error
    if _CONTROL.search(text):
        raise UnreadableDocument(f"The file is not {ACCEPTED}: it holds control characters.")
    return text


def _pdf(data: bytes, limits: Limits) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        pages = len(reader.pages) if not encrypted else 0
    except Exception as error:
        raise UnreadableDocument("The file looks like a PDF but cannot be read.") from error
    if encrypted:
        raise UnreadableDocument("The PDF is encrypted: upload one without a password.")
    if pages == 0:
        raise UnreadableDocument("The PDF has no pages.")
    if pages > limits.max_pages:
        raise UnreadableDocument(f"The PDF has more than {limits.max_pages} pages.")
    return reader


def _rtf_text(data: bytes) -> str:
    # RTF is 7-bit text that escapes everything else; latin-1 reads any byte.
    text: str = rtf_to_text(data.decode("latin-1"), errors="ignore")  # type: ignore[no-untyped-call]
    return text


def inspect(data: bytes, limits: Limits) -> Inspection:
    """What kind of résumé `data` is, once its parser opened it; UnreadableDocument if it
    is none of the kinds taken, or its parser cannot open it."""
    if not data:
        raise UnreadableDocument("The file is empty.")
    kind = _signature(data)
    if kind is DocumentType.pdf:
        return Inspection(DocumentType.pdf, len(_pdf(data, limits).pages))
    if kind is DocumentType.rtf:
        if not _rtf_text(data).strip():
            raise UnreadableDocument("The RTF file holds no text.")
        return Inspection(DocumentType.rtf, None)
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            return Inspection(_container(data, limits), None)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as error:
            raise UnreadableDocument("The file is a damaged ZIP archive.") from error
    if not _plain_text(data).strip():
        raise UnreadableDocument("The file holds no text.")
    return Inspection(DocumentType.text, None)


def _docx_text(document: object, *, limit: int) -> list[str]:
    """The text of a Word document's paragraphs and table cells, in document order, at
    most `limit` pieces."""
    pieces: list[str] = []
    for block in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(block, Table):
            pieces.extend(cell.text for row in block.rows for cell in row.cells)
        else:
            pieces.append(block.text)
        if len(pieces) >= limit:
            break
    return pieces[:limit]


def extract_text(data: bytes, kind: DocumentType, limits: Limits) -> str:
    """The text of a résumé already inspected as `kind`, at most `limits.max_text_chars`
    characters, without NUL (which PostgreSQL's text cannot hold)."""
    cap = limits.max_text_chars
    try:
        if kind is DocumentType.pdf:
            pieces: list[str] = []
            size = 0
            for page in _pdf(data, limits).pages:
                pieces.append(page.extract_text())
                size += len(pieces[-1])
                if size >= cap:
                    break
            text = "\n".join(pieces)
        elif kind is DocumentType.docx:
            text = "\n".join(_docx_text(docx.Document(io.BytesIO(data)), limit=cap))
        elif kind is DocumentType.odt:
            text = odfdo.Document(io.BytesIO(data)).get_formatted_text()
        elif kind is DocumentType.rtf:
            text = _rtf_text(data)
        else:
            text = _plain_text(data)
    except UnreadableDocument:
        raise
    except Exception as error:
        raise UnreadableDocument(f"The {kind.name.upper()} file cannot be read.") from error
    return text.replace("\x00", "")[:cap]

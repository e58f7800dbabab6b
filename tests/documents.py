"""Real résumé files, made by the libraries that write each format, and hostile ones."""

import io
import zipfile

import docx
import odfdo
from pypdf import PdfWriter
from pypdf.generic import ContentStream, DictionaryObject, NameObject

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


def pdf(text: str, *, pages: int = 1, password: str | None = None) -> bytes:
    """A PDF whose every page shows `text` (Latin-1) in Helvetica."""
    writer = PdfWriter()
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        stream = ContentStream(None, writer)
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1"))
        page.replace_contents(stream)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def word(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        cells = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(cells.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt(*paragraphs: str) -> bytes:
    document = odfdo.Document("text")
    for paragraph in paragraphs:
        document.body.append(odfdo.Paragraph(paragraph))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def spreadsheet() -> bytes:
    out = io.BytesIO()
    odfdo.Document("spreadsheet").save(out)
    return out.getvalue()


def rtf(text: str) -> bytes:
    return ("{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}}\\f0 " + text + "\\par}").encode()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx_bomb(unpacked_mb: int = 200) -> bytes:
    """A DOCX whose document part unpacks to `unpacked_mb` MB of zeros (under 1 MB packed)."""
    real = zipfile.ZipFile(io.BytesIO(word("bomb")))
    members = {name: real.read(name) for name in real.namelist()}
    members["word/media/padding.bin"] = b"\0" * (unpacked_mb * 2**20)
    return zip_of(members)


def damaged(archive: bytes) -> bytes:
    """A ZIP whose directory is intact but whose packed parts are scrambled."""
    middle = bytearray(archive)
    for index in range(100, min(len(middle) - 2000, 3000)):
        middle[index] ^= 0x5A
    return bytes(middle)

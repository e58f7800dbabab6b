"""The XML the board publishes for machines: an Atom feed of new jobs (RFC 4287) and
sitemaps of job pages (sitemaps.org), written with the standard library's ElementTree,
and the feed of every open job for job aggregators (Indeed's format), written with its
streaming XML writer; both escape every value."""

import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from backend.core.markdown import render_html

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_MEDIA_TYPE = "application/atom+xml"
# What the feed is served as: its charset said in the header too, for the browsers and
# readers that do not read the XML declaration.
ATOM_CONTENT_TYPE = f"{ATOM_MEDIA_TYPE}; charset=utf-8"
XML_MEDIA_TYPE = "application/xml"
XML_CONTENT_TYPE = f"{XML_MEDIA_TYPE}; charset=utf-8"

# Characters XML 1.0 cannot carry at all: a stored value with one of them must not make
# the whole document unreadable for every reader.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: object | None = None, **attributes: str) -> None:
    element = ET.SubElement(parent, tag, {key: _text(value) for key, value in attributes.items()})
    if text is not None:
        element.text = _text(text)


def _document(root: ET.Element) -> bytes:
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written


def job_page(frontend_url: str, job_id: int) -> str:
    """Where the web app shows a job."""
    return f"{frontend_url.rstrip('/')}/jobs/{job_id}"


def _summary(job: Any, company: str | None) -> str:
    kinds = (getattr(kind, "value", kind) for kind in (job.workplace, job.employment_type))
    parts = [company or "", job.location, *kinds]
    if job.salary_min is not None or job.salary_max is not None:
        amounts = " to ".join(
            f"{amount:,}" for amount in (job.salary_min, job.salary_max) if amount is not None
        )
        parts.append(f"{amounts} {job.salary_currency or ''}".strip())
    return " · ".join(part for part in parts if part)


def atom_feed(
    *,
    title: str,
    self_url: str,
    frontend_url: str,
    jobs: Iterable[Any],
) -> bytes:
    """An Atom feed of `jobs` (newest first, each with its `company_name`), each entry
    linking to its page."""
    jobs = list(jobs)
    feed = ET.Element("feed", {"xmlns": ATOM})
    _add(feed, "id", self_url)
    _add(feed, "title", title)
    newest = max((job.updated_at for job in jobs), default=datetime.now(UTC))
    _add(feed, "updated", _time(newest))
    _add(feed, "link", rel="self", href=self_url, type=ATOM_MEDIA_TYPE)
    _add(feed, "link", rel="alternate", href=frontend_url, type="text/html")
    author = ET.SubElement(feed, "author")
    _add(author, "name", "Job board")
    for job in jobs:
        entry = ET.SubElement(feed, "entry")
        page = job_page(frontend_url, job.id)
        _add(entry, "id", page)
        _add(entry, "title", job.title)
        _add(entry, "link", rel="alternate", href=page, type="text/html")
        _add(entry, "updated", _time(job.updated_at))
        if job.published_at is not None:
            _add(entry, "published", _time(job.published_at))
        company = job.company_name
        if company:
            by = ET.SubElement(entry, "author")
            _add(by, "name", company)
        for tag in job.tags:
            _add(entry, "category", term=tag)
        _add(entry, "summary", _summary(job, company))
        _add(entry, "content", job.description_html or render_html(job.description), type="html")
    return _document(feed)


def sitemap_index(urls: Iterable[str]) -> bytes:
    """A sitemap index listing sitemap files."""
    index = ET.Element("sitemapindex", {"xmlns": SITEMAP})
    for url in urls:
        sitemap = ET.SubElement(index, "sitemap")
        _add(sitemap, "loc", url)
    return _document(index)


def sitemap(frontend_url: str, jobs: Iterable[Any]) -> bytes:
    """A sitemap of job pages, each with the time the job last changed."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP})
    for job in jobs:
        url = ET.SubElement(urlset, "url")
        _add(url, "loc", job_page(frontend_url, job.id))
        _add(url, "lastmod", _time(job.updated_at))
    return _document(urlset)


# Indeed's names of the board's employment types, and of its workplaces but on-site.
_JOB_TYPES = {
    "full_time": "fulltime",
    "part_time": "parttime",
    "contract": "contract",
    "internship": "internship",
    "temporary": "temporary",
}
_REMOTE_TYPES = {"remote": "Fully remote", "hybrid": "Hybrid remote"}


def _rfc2822(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


class AggregatorFeed:
    """The board's open jobs in Indeed's XML feed format (`source`, then a `job` each),
    written as it goes with the standard library's streaming XML writer, which escapes
    every value: `jobs` adds a batch, `take` hands over what is written so far, so that a
    feed of any length is sent in pieces of one batch (schema: schemas/xsd/indeed-jobs.xsd).
    """

    def __init__(self, *, publisher: str, publisher_url: str, frontend_url: str) -> None:
        self._frontend_url = frontend_url
        self._buffer = io.BytesIO()
        self._xml = XMLGenerator(self._buffer, encoding="utf-8", short_empty_elements=True)
        self._xml.startDocument()
        self._xml.startElement("source", AttributesImpl({}))
        self._field("publisher", publisher)
        self._field("publisherurl", publisher_url)
        self._field("lastBuildDate", _rfc2822(datetime.now(UTC)))

    def _field(self, name: str, value: object) -> None:
        self._xml.startElement(name, AttributesImpl({}))
        self._xml.characters(_text(value))
        self._xml.endElement(name)

    def jobs(self, rows: Iterable[Any]) -> None:
        """Add visible jobs (each with its `company_name`)."""
        for job in rows:
            self._xml.startElement("job", AttributesImpl({}))
            self._field("title", job.title)
            self._field("date", _rfc2822(job.published_at or job.updated_at))
            self._field("referencenumber", job.id)
            self._field("url", job_page(self._frontend_url, job.id))
            self._field("company", job.company_name)
            self._field("sourcename", job.company_name)
            self._field("city", job.location)
            self._field("country", "")
            self._field("description", job.description_html or render_html(job.description))
            if job.salary_min is not None or job.salary_max is not None:
                amounts = " - ".join(
                    str(amount) for amount in (job.salary_min, job.salary_max) if amount is not None
                )
                self._field("salary", f"{amounts} {job.salary_currency or ''}".strip())
            kind = getattr(job.employment_type, "value", job.employment_type)
            self._field("jobtype", _JOB_TYPES[kind])
            if job.tags:
                self._field("category", ", ".join(job.tags))
            workplace = getattr(job.workplace, "value", job.workplace)
            if workplace in _REMOTE_TYPES:
                self._field("remotetype", _REMOTE_TYPES[workplace])
            if job.expires_at is not None:
                self._field("expirationdate", _rfc2822(job.expires_at))
            self._xml.endElement("job")

    def end(self) -> None:
        self._xml.endElement("source")
        self._xml.endDocument()

    def take(self) -> bytes:
        """What is written since the last `take`."""
        written = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return written

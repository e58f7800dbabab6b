"""schema.org JobPosting, as JSON-LD: the structured data search engines read from a job's
page (https://schema.org/JobPosting and the job-posting guidelines of search engines)."""

import json
from datetime import datetime
from typing import Any

from backend.core.markdown import render_html
from backend.db.repository.jobs import JobRow

EMPLOYMENT_TYPES = {
    "full_time": "FULL_TIME",
    "part_time": "PART_TIME",
    "contract": "CONTRACTOR",
    "internship": "INTERN",
    "temporary": "TEMPORARY",
}


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def job_posting(
    job: JobRow, *, company: str, page_url: str, website: str | None = None
) -> dict[str, Any]:
    """The JobPosting of a visible job; its hiring organisation's `sameAs` is `website`,
    given only where the company proved a mailbox at its domain."""
    posting: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": job.title,
        # HTML, as search engines ask for a posting's description.
        "description": job.description_html or render_html(job.description),
        "identifier": {"@type": "PropertyValue", "name": company, "value": str(job.id)},
        "datePosted": _instant(job.published_at),
        "employmentType": EMPLOYMENT_TYPES.get(str(job.employment_type), "OTHER"),
        "hiringOrganization": {"@type": "Organization", "name": company},
        "jobLocation": {
            "@type": "Place",
            "address": {"@type": "PostalAddress", "addressLocality": job.location},
        },
        "url": page_url,
    }
    if website is not None:
        posting["hiringOrganization"]["sameAs"] = website
    if job.expires_at is not None:
        posting["validThrough"] = _instant(job.expires_at)
    if str(job.workplace) == "remote":
        posting["jobLocationType"] = "TELECOMMUTE"
        posting["applicantLocationRequirements"] = {
            "@type": "AdministrativeArea",
            "name": job.location,
        }
    if job.salary_currency and (job.salary_min is not None or job.salary_max is not None):
        value: dict[str, Any] = {"@type": "QuantitativeValue", "unitText": "YEAR"}
        if job.salary_min is not None:
            value["minValue"] = job.salary_min
        if job.salary_max is not None:
            value["maxValue"] = job.salary_max
        posting["baseSalary"] = {
            "@type": "MonetaryAmount",
            "currency": job.salary_currency,
            "value": value,
        }
    return posting


def script_tag(data: dict[str, Any]) -> str:
    """`data` in a <script type="application/ld+json"> that no text in it can close."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return f'<script type="application/ld+json">{text}</script>'

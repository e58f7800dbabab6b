"""Mail bodies from Jinja2 templates (`backend/templates/mail`): a text and an HTML part.

Each mail NAME has `NAME.txt` and `NAME.html`, both extending a base that adds the footer
(and the unsubscribe link, for notifications); the subject is the text template's
`subject` block. `SAMPLES` holds the data `python -m backend mail preview NAME` renders.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

SITE_NAME = "Job board"


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.PackageLoader("backend", "templates/mail")
    text = jinja2.Environment(
        loader=loader,
        autoescape=False,  # noqa: S701 - plain text, never shown as HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    html = jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True
    )
    return text, html


def names() -> list[str]:
    """Every mail there is a template for."""
    text, _ = _environments()
    return sorted(
        name.removesuffix(".txt")
        for name in text.list_templates(extensions=["txt"])
        if not name.startswith("base")
    )


def render(name: str, context: dict[str, Any]) -> RenderedMail:
    """The mail NAME with `context` (and the site's name); a missing value is an error."""
    text_env, html_env = _environments()
    values = {"site_name": SITE_NAME, "unsubscribe_url": None, **context}
    text_template = text_env.get_template(f"{name}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(values)))
    return RenderedMail(
        subject=" ".join(subject.split()),
        text=text_template.render(values).strip() + "\n",
        html=html_env.get_template(f"{name}.html").render(values),
    )


_LINK = "https://jobs.example"

# What a rejection's mail says, in each of its templates (with the employer's message, or
# none).
_REJECTION: dict[str, Any] = {
    "name": "Grace Hopper",
    "job_title": "Backend Engineer",
    "company": "Analytical Engines",
    "message": None,
    "link": f"{_LINK}/applications",
    "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "password_reset": {
        "name": "Ada Lovelace",
        "minutes": 30,
        "link": f"{_LINK}/reset-password?token=sample-token",
    },
    "verify_email": {
        "email": "ada@example.com",
        "hours": 48,
        "link": f"{_LINK}/verify-email?token=sample-token",
    },
    "verify_company": {
        "company": "Analytical Engines",
        "domain": "engines.example",
        "email": "jobs@engines.example",
        "hours": 48,
        "link": f"{_LINK}/verify-company?token=sample-token",
    },
    "company_invitation": {
        "company": "Analytical Engines",
        "inviter": "Grace Hopper",
        "email": "ada@example.com",
        "role": "recruiter",
        "days": 7,
        "link": f"{_LINK}/invitations/accept?token=sample-token",
    },
    "webhook_disabled": {
        "name": "Grace Hopper",
        "company": "Analytical Engines",
        "host": "ats.engines.example",
        "url": "https://ats.engines.example/hooks/board",
        "since": "2026-11-20 09:12 UTC",
        "error": "answered 503",
        "link": f"{_LINK}/dashboard",
    },
    "new_applicants": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "applicants": [
            {"name": "Ada Lovelace", "applied_at": "2026-11-23 09:12 UTC"},
            {"name": "Alan Turing", "applied_at": "2026-11-23 09:40 UTC"},
        ],
        "link": f"{_LINK}/dashboard/jobs/1",
        "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
    },
    "application_status": {
        "name": "Ada Lovelace",
        "changes": [
            {
                "job_title": "Backend Engineer",
                "company": "Analytical Engines",
                "status": "interviewing",
            },
            {"job_title": "Data Engineer", "company": "Difference Works", "status": "reviewing"},
        ],
        "link": f"{_LINK}/applications",
        "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
    },
    "job_alert": {
        "name": "Ada Lovelace",
        "search_name": "Remote Python",
        "total": 23,
        "jobs": [
            {
                "title": "Backend Engineer",
                "company": "Analytical Engines",
                "location": "Lisbon",
                "link": f"{_LINK}/jobs/1",
            }
        ],
        "more": 22,
        "search_link": f"{_LINK}/?q=python&workplace=remote",
        "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
    },
    "job_expiring": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "company": "Analytical Engines",
        "expires_at": "2026-11-27 23:59 UTC",
        "days": 3,
        "link": f"{_LINK}/dashboard/jobs/1",
        "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
    },
    "job_open_check": {
        "name": "Grace Hopper",
        "jobs": [
            {
                "title": "Backend Engineer",
                "company": "Analytical Engines",
                "confirmed_on": "2026-11-01",
                "link": f"{_LINK}/dashboard/jobs/1",
                "open_link": f"{_LINK}/open-check?token=sample-open-token",
                "filled_link": f"{_LINK}/open-check?token=sample-filled-token",
            }
        ],
        "more": 0,
        "reported": False,
        "deadline": "2026-12-08 09:00 UTC",
        "dashboard": f"{_LINK}/dashboard",
    },
    "job_closed_unconfirmed": {
        "name": "Grace Hopper",
        "jobs": [
            {
                "title": "Backend Engineer",
                "company": "Analytical Engines",
                "confirmed_on": "2026-11-01",
                "link": f"{_LINK}/dashboard/jobs/1",
            }
        ],
        "more": 0,
        "reported": False,
        "deadline": "2026-12-08 09:00 UTC",
        "dashboard": f"{_LINK}/dashboard",
    },
    "interview": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "company": "Analytical Engines",
        "when": "Thursday 1 May 2031, 10:00 UTC",
        "minutes": 45,
        "location": "https://meet.example/abc-defg-hij",
        "note": "You will meet the team lead and one engineer.",
        "sequence": 0,
        "cancelled": False,
        "link": f"{_LINK}/applications",
        "unsubscribe_url": None,
    },
    "rejection_standard": {**_REJECTION, "message": "We hope to see you apply again."},
    "rejection_after_interview": _REJECTION,
    "rejection_position_filled": _REJECTION,
    "job_closed": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "company": "Analytical Engines",
        "link": f"{_LINK}/applications",
        "unsubscribe_url": f"{_LINK}/unsubscribe?token=sample-token",
    },
    "job_comment": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "by_moderator": True,
        "body": "Which city is this job in?",
        "link": f"{_LINK}/dashboard/jobs/1",
    },
    "job_reported": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "link": f"{_LINK}/dashboard/jobs/1",
    },
    "revision_decision": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "decision": "rejected",
        "reasons": ["misleading"],
        "note": "The salary shown is not what the job pays.",
        "link": f"{_LINK}/dashboard/jobs/1",
    },
    "job_decision": {
        "name": "Grace Hopper",
        "job_title": "Backend Engineer",
        "decision": "rejected",
        "reasons": ["incomplete", "other"],
        "note": "Say where the job is, and give the salary range.",
        "link": f"{_LINK}/dashboard/jobs/1",
    },
}

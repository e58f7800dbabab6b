"""Screening questions: asked when applying, answers checked against the questions the job
has then, knock-out answers filing the application as rejected; kept as asked."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, ApplicationAnswers, Job, JobStatus
from tests.conftest import Sent
from tests.factories import Actors, assert_problem, create_job
from tests.mailbox import text_of

API = "/api/v1"

QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": "yes_no",
        "prompt": "Are you allowed to work in the EU?",
        "required": True,
        "knockout_answer": False,
    },
    {
        "kind": "number",
        "prompt": "Years of PostgreSQL in production?",
        "required": True,
        "knockout_below": 2,
        "knockout_above": 60,
    },
    {
        "kind": "choice",
        "prompt": "When could you start?",
        "choices": ["Now", "Within a month", "Later"],
        "knockout_choices": ["Later"],
    },
    {"kind": "text", "prompt": "A project you are proud of?"},
]


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company, title="Data Engineer")


async def ask(client: httpx.AsyncClient, actors: Actors, job: Job) -> dict[str, str]:
    """Set the job's questions; their ids, by prompt."""
    response = await client.put(
        f"{API}/jobs/{job.id}/questions",
        json={"questions": QUESTIONS},
        headers=actors.employer.headers,
    )
    assert response.status_code == 200, response.text
    return {q["prompt"]: q["id"] for q in response.json()["questions"]}


def answers(ids: dict[str, str], eu: Any = True, years: Any = 5, **more: Any) -> dict[str, Any]:
    prompts = list(ids.values())
    return {prompts[0]: eu, prompts[1]: years, **{ids[k]: v for k, v in more.items()}}


async def applications(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Application))).scalar_one()


async def test_candidates_read_the_questions_without_the_knock_out_answers(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    ids = await ask(client, actors, job)
    assert len(set(ids.values())) == 4
    url = f"{API}/jobs/{job.id}/questions"
    for headers in ({}, actors.candidate.headers, actors.other_employer.headers):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        questions = response.json()["questions"]
        assert [q["prompt"] for q in questions] == [q["prompt"] for q in QUESTIONS]
        for q in questions:
            assert q["knockout_answer"] is None
            assert q["knockout_choices"] is None
            assert (q["knockout_below"], q["knockout_above"]) == (None, None)
    owner = (await client.get(url, headers=actors.employer.headers)).json()["questions"]
    assert owner[0]["knockout_answer"] is False
    assert (owner[1]["knockout_below"], owner[1]["knockout_above"]) == (2, 60)
    assert owner[2]["knockout_choices"] == ["Later"]


async def test_a_draft_jobs_questions_are_its_owners(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    assert actors.employer.company is not None
    draft = await create_job(db, company=actors.employer.company, status=JobStatus.draft)
    await ask(client, actors, draft)
    url = f"{API}/jobs/{draft.id}/questions"
    assert_problem(await client.get(url), 404)
    assert_problem(await client.get(url, headers=actors.candidate.headers), 404)
    assert (await client.get(url, headers=actors.employer.headers)).status_code == 200
    put = await client.put(url, json={"questions": []}, headers=actors.other_employer.headers)
    assert_problem(put, 404)


async def test_answers_are_kept_as_asked_and_read_by_both_sides(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    ids = await ask(client, actors, job)
    given = answers(
        ids,
        years=7.5,
        **{"When could you start?": "Now", "A project you are proud of?": "A <b>planner</b>"},
    )
    response = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": given},
        headers=actors.candidate.headers,
    )
    assert response.status_code == 201, response.text
    application = response.json()
    assert application["status"] == "submitted"
    # The employer then rewrites the questions: what was answered stays as it was asked.
    await client.put(
        f"{API}/jobs/{job.id}/questions",
        json={"questions": [{"kind": "text", "prompt": "Something else?"}]},
        headers=actors.employer.headers,
    )
    url = f"{API}/applications/{application['id']}/answers"
    theirs = (await client.get(url, headers=actors.employer.headers)).json()["answers"]
    assert [(a["prompt"], a["answer"], a["knocked_out"]) for a in theirs] == [
        ("Are you allowed to work in the EU?", True, False),
        ("Years of PostgreSQL in production?", 7.5, False),
        ("When could you start?", "Now", False),
        ("A project you are proud of?", "A <b>planner</b>", False),
    ]
    mine = (await client.get(url, headers=actors.candidate.headers)).json()["answers"]
    assert [a["answer"] for a in mine] == [a["answer"] for a in theirs]
    assert {a["knocked_out"] for a in mine} == {None}
    for who in ("other_employer", "other_candidate"):
        assert_problem(await client.get(url, headers=getattr(actors, who).headers), 404)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eu": None}, "Are you allowed"),  # required, unanswered
        ({"years": None}, "Years"),
        ({"eu": "yes"}, "Are you allowed"),
        ({"eu": 1}, "Are you allowed"),
        ({"years": "3"}, "Years"),
        ({"years": True}, "Years"),
        ({"years": 1e13}, "answers"),
        ({"When could you start?": "Tomorrow"}, "When"),
        ({"When could you start?": True}, "When"),
        ({"A project you are proud of?": "   "}, "A project"),
        ({"A project you are proud of?": "x" * 1001}, "answers"),
        ({"A project you are proud of?": 4}, "A project"),
        ({"unknown": True}, "unknown"),
    ],
)
async def test_an_answer_that_does_not_fit_is_422_and_nothing_is_filed(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    job: Job,
    change: dict[str, Any],
    field: str,
) -> None:
    ids = await ask(client, actors, job)
    given = answers(ids, **{k: v for k, v in change.items() if k in ids})
    if "eu" in change:
        given[ids[QUESTIONS[0]["prompt"]]] = change["eu"]
    if "years" in change:
        given[ids[QUESTIONS[1]["prompt"]]] = change["years"]
    if "unknown" in change:
        given["q000000000000"] = True
    response = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": given},
        headers=actors.candidate.headers,
    )
    problem = assert_problem(response, 422)
    where = next((q for p, q in ids.items() if p.startswith(field)), field)
    if field == "unknown":
        where = "q000000000000"
    assert where in str(problem), problem
    assert await applications(db) == 0


async def test_a_form_of_questions_since_changed_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    ids = await ask(client, actors, job)
    changed = [{**QUESTIONS[0], "prompt": "May you work in the EU or the UK?"}, *QUESTIONS[1:]]
    response = await client.put(
        f"{API}/jobs/{job.id}/questions",
        json={"questions": changed},
        headers=actors.employer.headers,
    )
    now = {q["prompt"]: q["id"] for q in response.json()["questions"]}
    # The unchanged questions keep their ids; the changed one has a new one.
    assert now["Years of PostgreSQL in production?"] == ids["Years of PostgreSQL in production?"]
    assert now["May you work in the EU or the UK?"] != ids["Are you allowed to work in the EU?"]
    stale = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": answers(ids)},
        headers=actors.candidate.headers,
    )
    problem = assert_problem(stale, 422)
    assert "questions changed" in str(problem)
    assert await applications(db) == 0
    fresh = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": answers(now)},
        headers=actors.candidate.headers,
    )
    assert fresh.status_code == 201, fresh.text


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"eu": False}, "Are you allowed to work in the EU?"),
        ({"years": 1}, "Years of PostgreSQL in production?"),
        ({"years": 61}, "Years of PostgreSQL in production?"),
        ({"When could you start?": "Later"}, "When could you start?"),
    ],
)
async def test_a_knock_out_answer_files_it_as_rejected(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    job: Job,
    given: dict[str, Any],
    why: str,
) -> None:
    ids = await ask(mail_client, actors, job)
    body = answers(ids, **{k: v for k, v in given.items() if k in ids})
    if "eu" in given:
        body[ids[QUESTIONS[0]["prompt"]]] = given["eu"]
    if "years" in given:
        body[ids[QUESTIONS[1]["prompt"]]] = given["years"]
    response = await mail_client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": body},
        headers=actors.candidate.headers,
    )
    assert response.status_code == 201, response.text
    application = response.json()
    assert application["status"] == "rejected"
    headers = actors.employer.headers
    listed = await mail_client.get(f"{API}/jobs/{job.id}/applications", headers=headers)
    (row,) = listed.json()["items"]
    assert (row["status"], row["rejection_reason"], row["stage"]) == (
        "rejected",
        "knocked_out",
        "rejected",
    )
    url = f"{API}/applications/{application['id']}"
    answered = (await mail_client.get(f"{url}/answers", headers=headers)).json()["answers"]
    assert [a["prompt"] for a in answered if a["knocked_out"]] == [why]
    timeline = (await mail_client.get(f"{url}/timeline", headers=headers)).json()["items"]
    assert [(e["kind"], e["status"], e["actor_name"]) for e in timeline][:2] == [
        ("submitted", None, actors.candidate.user.full_name),
        ("moved", "rejected", None),  # the board's doing, not a person's
    ]
    # The candidate hears of it as of any rejection: the batched mail of their news.
    mails = [m for m in await sent() if m["To"] == actors.candidate.user.email]
    (mail,) = mails
    assert "Data Engineer" in text_of(mail)
    assert "rejected" in text_of(mail)


async def test_optional_questions_may_go_unanswered(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    ids = await ask(client, actors, job)
    response = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"answers": answers(ids)},
        headers=actors.candidate.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "submitted"
    stored = (await db.execute(select(ApplicationAnswers.answers))).scalar_one()
    assert [a["answer"] for a in stored] == [True, 5, None, None]


@pytest.mark.parametrize(
    "question",
    [
        {"kind": "yes_no", "prompt": "Ok?", "choices": ["a", "b"]},
        {"kind": "choice", "prompt": "Which?"},
        {"kind": "choice", "prompt": "Which?", "choices": ["a"]},
        {"kind": "choice", "prompt": "Which?", "choices": ["a", "A"]},
        {"kind": "choice", "prompt": "Which?", "choices": ["a", "b"], "knockout_choices": ["c"]},
        {"kind": "text", "prompt": "Why?", "knockout_answer": True},
        {"kind": "yes_no", "prompt": "Ok?", "knockout_below": 1},
        {"kind": "number", "prompt": "How many?", "knockout_below": 5, "knockout_above": 1},
        {"kind": "number", "prompt": "How many?", "knockout_below": "NaN"},
        {"kind": "yes_no", "prompt": "Ok?", "knockout_answer": "no"},
        {"kind": "yes_no", "prompt": ""},
        {"kind": "yes_no", "prompt": "x" * 301},
        {"kind": "essay", "prompt": "Why?"},
        {"kind": "yes_no", "prompt": "Ok?", "required": "yes"},
    ],
)
async def test_a_question_that_cannot_be_asked_is_422(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, question: dict[str, Any]
) -> None:
    response = await client.put(
        f"{API}/jobs/{job.id}/questions",
        json={"questions": [question]},
        headers=actors.employer.headers,
    )
    assert_problem(response, 422)
    read = await client.get(f"{API}/jobs/{job.id}/questions", headers=actors.employer.headers)
    assert read.json()["questions"] == []


async def test_too_many_or_repeated_questions_are_422(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    url, headers = f"{API}/jobs/{job.id}/questions", actors.employer.headers
    many = [{"kind": "text", "prompt": f"Question {i}?"} for i in range(21)]
    assert_problem(await client.put(url, json={"questions": many}, headers=headers), 422)
    twice = [{"kind": "text", "prompt": "Why?"}, {"kind": "yes_no", "prompt": "why?"}]
    problem = assert_problem(await client.put(url, json={"questions": twice}, headers=headers), 422)
    assert "asked twice" in str(problem)

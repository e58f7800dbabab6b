"""Verified companies: a link mailed to a mailbox at the company website's domain, the badge
on the company and its jobs, what cannot verify, what ends a link, and what verification
changes for review."""

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.security import VERIFY_COMPANY_PURPOSE, VERIFY_EMAIL_PURPOSE, create_link_token
from backend.db.models import Company, MemberRole, Role, User
from backend.db.repository import members as members_repo
from backend.services.company_verification import link_subject
from tests.conftest import ClientFactory, Sent
from tests.factories import DEFAULT_PASSWORD, Actors, assert_problem, job_body
from tests.mailbox import link_token, text_of, to
from tests.tasks import waiting
from tests.test_races import REPEATS, live_user

API = "/api/v1"
VERIFY = f"{API}/companies/verify"
INVALID = "This verification link is invalid, expired or already used."


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        rate_limits_enabled=False,
        moderation_first_jobs=3,
        moderation_signals_hold=True,
    )


def ask_url(company_id: int) -> str:
    return f"{API}/companies/{company_id}/verification"


async def with_website(db: AsyncSession, company: Company, website: str | None) -> None:
    await db.execute(update(Company).where(Company.id == company.id).values(website=website))


async def ask(
    client: httpx.AsyncClient, actors: Actors, company: Company, email: str
) -> httpx.Response:
    return await client.post(
        ask_url(company.id), json={"email": email}, headers=actors.employer.headers
    )


async def mailed_token(sent: Sent, tmp_path: Path, address: str) -> str:
    await sent()
    mails = to(tmp_path, address)
    assert mails, f"no mail to {address}"
    return link_token(mails[-1], "/verify-company")


async def test_a_link_mailed_to_the_websites_domain_verifies_the_company(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    await with_website(db, company, "https://www.acme-robotics.example/careers")
    job = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="draft"),
        headers=actors.employer.headers,
    )
    job_id = job.json()["id"]
    assert job.json()["company_verified"] is False

    answer = await ask(mail_client, actors, company, "Jobs@Acme-Robotics.example")
    assert answer.status_code == 202, answer.text
    assert answer.json() == {
        "detail": "A verification link is on its way to Jobs@acme-robotics.example."
    }
    token = await mailed_token(sent, tmp_path, "Jobs@acme-robotics.example")
    (mail,) = await sent()
    assert mail["Subject"] == f"Verify {company.name} on Job board"
    assert "asked to verify it at acme-robotics.example" in text_of(mail)
    # Nothing changes until the link is opened.
    read = await mail_client.get(f"{API}/companies/{company.id}")
    assert (read.json()["verified"], read.json()["verified_domain"]) == (False, None)

    opened = await mail_client.post(VERIFY, json={"token": token})  # no sign-in needed
    assert opened.status_code == 200, opened.text
    assert opened.json()["verified"] is True
    assert opened.json()["verified_domain"] == "acme-robotics.example"
    assert opened.headers["ETag"]
    read = await mail_client.get(f"{API}/companies/{company.id}")
    assert read.json()["verified"] is True
    mine = await mail_client.get(f"{API}/jobs/{job_id}", headers=actors.employer.headers)
    assert mine.json()["company_verified"] is True
    other = await mail_client.post(
        f"{API}/jobs",
        json=job_body(actors.other_employer.company.id, status="published"),  # type: ignore[union-attr]
        headers=actors.other_employer.headers,
    )
    assert other.json()["company_verified"] is False

    # Spent: the link works once.
    again = assert_problem(await mail_client.post(VERIFY, json={"token": token}), 400)
    assert again["detail"] == INVALID


async def test_a_verified_companys_jobs_carry_the_badge_in_lists_and_publish_at_once(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    body = job_body(company.id, status="published", title="Badge Keeper")
    # A new poster's job is held (MODERATION_FIRST_JOBS=3 here)...
    held = await mail_client.post(f"{API}/jobs", json=body, headers=actors.employer.headers)
    assert held.json()["status"] == "pending"

    await with_website(db, company, "https://acme-robotics.example")
    assert (await ask(mail_client, actors, company, "hr@acme-robotics.example")).status_code == 202
    token = await mailed_token(sent, tmp_path, "hr@acme-robotics.example")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 200

    # ... and once the company is verified, published at once, with the badge everywhere
    # (its poster's address at another domain than the website's is no signal any more).
    body |= {"title": "Badge Keeper Lead", "description": "Lead the badge keepers."}
    published = await mail_client.post(f"{API}/jobs", json=body, headers=actors.employer.headers)
    assert published.json()["status"] == "published"
    assert published.json()["company_verified"] is True
    listed = await mail_client.get(f"{API}/jobs", params={"q": "badge keeper lead"})
    (item,) = listed.json()["items"]
    assert item["id"] == published.json()["id"]
    assert item["company_verified"] is True
    newest = await mail_client.get(f"{API}/jobs", params={"sort": "newest"})
    assert {job["company_verified"] for job in newest.json()["items"]} == {True}
    page = await mail_client.get(f"{API}/jobs/{item['id']}")
    assert page.json()["company_verified"] is True

    # A signal that holds still holds it.
    scam = job_body(company.id, status="published", description="Pay a registration fee first.")
    flagged = await mail_client.post(f"{API}/jobs", json=scam, headers=actors.employer.headers)
    assert flagged.json()["status"] == "pending"


@pytest.mark.parametrize(
    ("website", "email", "status", "says"),
    [
        (None, "jobs@acme.example", 409, "Give the company its website first"),
        ("https://acme.example", "jobs@other.example", 422, "must be an address at acme.example"),
        ("https://jobs.acme.example", "jobs@acme.example.evil.example", 422, "acme.example"),
        ("https://gmail.com/acme", "acme@gmail.com", 422, "is a mail service's domain"),
        ("https://mailinator.com", "me@mailinator.com", 422, "is a mail service's domain"),
    ],
    ids=["no-website", "other-domain", "lookalike-domain", "free-mail", "disposable"],
)
async def test_what_cannot_verify_is_refused_and_mails_nothing(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    website: str | None,
    email: str,
    status: int,
    says: str,
) -> None:
    await with_website(db, company, website)
    problem = assert_problem(await ask(mail_client, actors, company, email), status)
    assert says in str(problem)
    assert await waiting(db) == []
    assert await sent() == []


async def test_only_the_owner_or_an_admin_asks_and_only_when_confirmed(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
) -> None:
    await with_website(db, company, "https://acme.example")
    body = {"email": "jobs@acme.example"}
    assert_problem(
        await mail_client.post(
            ask_url(company.id), json=body, headers=actors.other_employer.headers
        ),
        403,
    )
    assert_problem(
        await mail_client.post(ask_url(company.id), json=body, headers=actors.candidate.headers),
        403,
    )
    assert_problem(await mail_client.post(ask_url(company.id), json=body), 401)
    assert_problem(
        await mail_client.post(ask_url(10**12), json=body, headers=actors.employer.headers), 404
    )
    assert_problem(
        await mail_client.post(
            ask_url(company.id), json={"email": "x"}, headers=actors.employer.headers
        ),
        422,
    )
    assert await waiting(db) == []
    admin = await mail_client.post(ask_url(company.id), json=body, headers=actors.admin.headers)
    assert admin.status_code == 202
    await db.execute(
        update(User).where(User.id == actors.employer.user.id).values(email_verified_at=None)
    )
    unconfirmed = assert_problem(await ask(mail_client, actors, company, "hr@acme.example"), 403)
    assert "Confirm your email address" in str(unconfirmed["detail"])


async def test_a_banned_domain_cannot_verify(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await with_website(db, company, "https://scam.example")
    moderator = actors.admin.headers
    banned = await mail_client.put(
        f"{API}/moderation/banned-domains/scam.example", json={}, headers=moderator
    )
    assert banned.status_code == 200, banned.text
    assert_problem(await ask(mail_client, actors, company, "jobs@scam.example"), 403)
    assert await waiting(db) == []


@pytest.mark.parametrize(
    "meanwhile",
    ["website-moved", "signed-out-everywhere", "password-changed", "company-changed-hands"],
)
async def test_a_link_dies_with_what_it_was_issued_for(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
    meanwhile: str,
) -> None:
    await with_website(db, company, "https://acme.example")
    assert (await ask(mail_client, actors, company, "jobs@acme.example")).status_code == 202
    token = await mailed_token(sent, tmp_path, "jobs@acme.example")
    if meanwhile == "website-moved":
        moved = await mail_client.patch(
            f"{API}/companies/{company.id}",
            json={"website": "https://acme-elsewhere.example"},
            headers=actors.employer.headers,
        )
        assert moved.status_code == 200
    elif meanwhile == "signed-out-everywhere":
        out = await mail_client.post(f"{API}/auth/logout-all", headers=actors.employer.headers)
        assert out.status_code == 204
    elif meanwhile == "password-changed":
        changed = await mail_client.post(
            f"{API}/users/me/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase"},
            headers=actors.employer.headers,
        )
        assert changed.status_code == 204, changed.text
    else:
        # Handed over: the asker is a recruiter of it now, no longer an owner.
        await members_repo.add(
            db,
            company_id=company.id,
            user_id=actors.other_employer.user.id,
            role=MemberRole.recruiter,
        )
        handed = await mail_client.post(
            f"{API}/companies/{company.id}/transfer",
            json={"user_id": actors.other_employer.user.id},
            headers=actors.employer.headers,
        )
        assert handed.status_code == 200, handed.text
    assert_problem(await mail_client.post(VERIFY, json={"token": token}), 400)
    stored = (await db.execute(select(Company).where(Company.id == company.id))).scalar_one()
    await db.refresh(stored)
    assert stored.verified_at is None


async def test_a_mail_asked_for_a_link_that_died_before_it_ran_is_not_sent(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    await with_website(db, company, "https://acme.example")
    assert (await ask(mail_client, actors, company, "jobs@acme.example")).status_code == 202
    await with_website(db, company, "https://acme-moved.example")
    await sent()
    assert to(tmp_path, "jobs@acme.example") == []


@pytest.mark.parametrize("kind", ["tampered", "other-purpose", "bad-subject", "huge-id"])
async def test_a_bad_link_is_400(
    mail_client: httpx.AsyncClient,
    app: FastAPI,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    kind: str,
) -> None:
    await with_website(db, company, "https://acme.example")
    settings: Settings = app.state.settings
    user = actors.employer.user

    def token(purpose: str, subject: str) -> str:
        return create_link_token(
            settings,
            purpose=purpose,
            user_id=user.id,
            subject=subject,
            generation=user.security_generation,
            expires_in=3600,
        )

    good = token(VERIFY_COMPANY_PURPOSE, link_subject(company.id, "jobs@acme.example"))
    value = {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "other-purpose": token(VERIFY_EMAIL_PURPOSE, link_subject(company.id, "jobs@acme.example")),
        "bad-subject": token(VERIFY_COMPANY_PURPOSE, "acme jobs@acme.example"),
        "huge-id": token(VERIFY_COMPANY_PURPOSE, link_subject(10**19 - 1, "jobs@acme.example")),
    }[kind]
    problem = assert_problem(await mail_client.post(VERIFY, json={"token": value}), 400)
    assert problem["detail"] == INVALID
    # The same link made right works: what failed was the link.
    assert (await mail_client.post(VERIFY, json={"token": good})).status_code == 200


async def test_moving_the_website_to_another_domain_ends_the_verification(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    await with_website(db, company, "https://acme.example")
    assert (await ask(mail_client, actors, company, "jobs@acme.example")).status_code == 202
    token = await mailed_token(sent, tmp_path, "jobs@acme.example")
    assert (await mail_client.post(VERIFY, json={"token": token})).status_code == 200
    url = f"{API}/companies/{company.id}"
    same_domain = await mail_client.patch(
        url, json={"website": "https://careers.acme.example/jobs"}, headers=actors.employer.headers
    )
    assert same_domain.json()["verified"] is True
    assert (await ask(mail_client, actors, company, "hr@acme.example")).status_code == 409
    moved = await mail_client.patch(
        url, json={"website": "https://acme.example.net"}, headers=actors.employer.headers
    )
    assert (moved.json()["verified"], moved.json()["verified_domain"]) == (False, None)
    removed = await mail_client.patch(url, json={"website": None}, headers=actors.admin.headers)
    assert removed.json()["verified"] is False


async def test_asking_is_limited_per_account_whatever_the_rate_limit_setting(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await with_website(db, company, "https://acme.example")
    answers = [
        (await ask(mail_client, actors, company, f"hr{n}@acme.example")).status_code
        for n in range(6)
    ]
    assert answers == [202] * 5 + [429]
    assert len(await waiting(db)) == 5


async def test_an_address_gets_a_few_mails_an_hour_whoever_asks(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await with_website(db, company, "https://acme.example")
    body = {"email": "jobs@acme.example"}
    answers = []
    for headers in (actors.employer.headers, actors.admin.headers) * 3:
        response = await mail_client.post(ask_url(company.id), json=body, headers=headers)
        answers.append(response.status_code)
    assert answers == [202] * 5 + [429]
    assert len(await waiting(db)) == 5


# --- races: real parallel requests, each on its own connection, committed


async def test_two_links_opened_at_once_verify_once(make_live_client: ClientFactory) -> None:
    live = await make_live_client(rate_limits_enabled=False)
    app: FastAPI = live.app  # type: ignore[attr-defined]
    owner, headers = await live_user(live, Role.employer)
    settings: Settings = app.state.settings
    for _ in range(REPEATS):
        created = await live.post(
            f"{API}/companies",
            json={"name": "Race Co", "website": "https://race.example"},
            headers=headers,
        )
        company_id = created.json()["id"]
        tokens = [
            create_link_token(
                settings,
                purpose=VERIFY_COMPANY_PURPOSE,
                user_id=owner.id,
                subject=link_subject(company_id, address),
                generation=owner.security_generation,
                expires_in=3600,
            )
            for address in ("jobs@race.example", "hr@race.example")
        ]
        answers = await asyncio.gather(
            *(live.post(VERIFY, json={"token": token}) for token in tokens)
        )
        assert sorted(answer.status_code for answer in answers) == [200, 400]
        (won,) = [answer for answer in answers if answer.status_code == 200]
        async with app.state.sessionmaker() as db:
            company = await db.get(Company, company_id)
            assert company is not None
            assert company.verified_domain == "race.example"
        assert won.json()["verified_domain"] == "race.example"


async def test_a_link_opened_while_the_website_moves_leaves_one_consistent_state(
    make_live_client: ClientFactory,
) -> None:
    live = await make_live_client(rate_limits_enabled=False)
    app: FastAPI = live.app  # type: ignore[attr-defined]
    owner, headers = await live_user(live, Role.employer)
    settings: Settings = app.state.settings
    for _ in range(REPEATS):
        created = await live.post(
            f"{API}/companies",
            json={"name": "Race Co", "website": "https://race.example"},
            headers=headers,
        )
        company_id = created.json()["id"]
        token = create_link_token(
            settings,
            purpose=VERIFY_COMPANY_PURPOSE,
            user_id=owner.id,
            subject=link_subject(company_id, "jobs@race.example"),
            generation=owner.security_generation,
            expires_in=3600,
        )
        opened, moved = await asyncio.gather(
            live.post(VERIFY, json={"token": token}),
            live.patch(
                f"{API}/companies/{company_id}",
                json={"website": "https://elsewhere.example"},
                headers=headers,
            ),
        )
        assert moved.status_code == 200
        assert opened.status_code in (200, 400)
        # Whichever came first, the website has moved and the company is not verified.
        assert moved.json()["verified"] is False
        read = await live.get(f"{API}/companies/{company_id}")
        assert (read.json()["verified"], read.json()["verified_domain"]) == (False, None)

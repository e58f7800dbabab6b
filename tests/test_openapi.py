"""The OpenAPI document agrees with the contract in docs/API.md."""

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from backend.apis.deps import reads_the_token

CONTRACT = {
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/logout-all"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("get", "/api/v1/users/me"),
    ("patch", "/api/v1/users/me"),
    ("post", "/api/v1/users/me/password"),
    ("post", "/api/v1/auth/verify-email"),
    ("post", "/api/v1/auth/verify-email/resend"),
    ("get", "/api/v1/users/me/notifications"),
    ("patch", "/api/v1/users/me/notifications"),
    ("post", "/api/v1/notifications/unsubscribe"),
    ("post", "/api/v1/users/me/saved-searches"),
    ("get", "/api/v1/users/me/saved-searches"),
    ("get", "/api/v1/users/me/saved-searches/{saved_search_id}"),
    ("patch", "/api/v1/users/me/saved-searches/{saved_search_id}"),
    ("delete", "/api/v1/users/me/saved-searches/{saved_search_id}"),
    ("put", "/api/v1/users/me/saved-jobs/{job_id}"),
    ("delete", "/api/v1/users/me/saved-jobs/{job_id}"),
    ("get", "/api/v1/users/me/saved-jobs"),
    ("get", "/api/v1/users/me/job-markers"),
    ("get", "/api/v1/jobs/{job_id}/similar"),
    ("post", "/api/v1/companies"),
    ("get", "/api/v1/companies"),
    ("get", "/api/v1/companies/{company_id}"),
    ("patch", "/api/v1/companies/{company_id}"),
    ("get", "/api/v1/users/me/companies"),
    ("post", "/api/v1/jobs"),
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/autocomplete"),
    ("get", "/api/v1/jobs/feed"),
    ("get", "/api/v1/jobs/indeed.xml"),
    ("put", "/api/v1/companies/{company_id}/jobs/external/{external_id}"),
    ("get", "/api/v1/companies/{company_id}/jobs/external/{external_id}"),
    ("post", "/api/v1/companies/{company_id}/jobs/external/{external_id}/close"),
    ("post", "/api/v1/companies/{company_id}/jobs/external"),
    ("post", "/api/v1/companies/{company_id}/api-keys"),
    ("get", "/api/v1/companies/{company_id}/api-keys"),
    ("delete", "/api/v1/companies/{company_id}/api-keys/{key_id}"),
    ("get", "/api/v1/companies/{company_id}/jobs/indeed.xml"),
    ("get", "/api/v1/companies/{company_id}/members"),
    ("patch", "/api/v1/companies/{company_id}/members/{user_id}"),
    ("delete", "/api/v1/companies/{company_id}/members/{user_id}"),
    ("post", "/api/v1/companies/{company_id}/transfer"),
    ("get", "/api/v1/companies/{company_id}/activity"),
    ("get", "/api/v1/companies/{company_id}/invitations"),
    ("post", "/api/v1/companies/{company_id}/invitations"),
    ("post", "/api/v1/companies/{company_id}/invitations/{invitation_id}/resend"),
    ("delete", "/api/v1/companies/{company_id}/invitations/{invitation_id}"),
    ("post", "/api/v1/invitations/accept"),
    ("post", "/api/v1/companies/{company_id}/webhooks"),
    ("get", "/api/v1/companies/{company_id}/webhooks"),
    ("patch", "/api/v1/companies/{company_id}/webhooks/{endpoint_id}"),
    ("delete", "/api/v1/companies/{company_id}/webhooks/{endpoint_id}"),
    ("post", "/api/v1/companies/{company_id}/webhooks/{endpoint_id}/rotate-secret"),
    ("get", "/api/v1/companies/{company_id}/webhooks/{endpoint_id}/deliveries"),
    (
        "post",
        "/api/v1/companies/{company_id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
    ),
    ("get", "/api/v1/users/me/invitations"),
    ("post", "/api/v1/users/me/invitations/{invitation_id}/accept"),
    ("post", "/api/v1/users/me/invitations/{invitation_id}/decline"),
    ("get", "/api/v1/options"),
    ("get", "/sitemap.xml"),
    ("get", "/sitemaps/jobs-{number}.xml"),
    ("get", "/api/v1/jobs/{job_id}"),
    ("patch", "/api/v1/jobs/{job_id}"),
    ("delete", "/api/v1/jobs/{job_id}"),
    ("get", "/api/v1/users/me/jobs"),
    ("post", "/api/v1/jobs/{job_id}/applications"),
    ("get", "/api/v1/jobs/{job_id}/applications"),
    ("get", "/api/v1/users/me/applications"),
    ("get", "/api/v1/applications/{application_id}"),
    ("patch", "/api/v1/applications/{application_id}"),
    ("get", "/api/v1/users/me/applicants"),
    ("get", "/api/v1/applications/{application_id}/timeline"),
    ("post", "/api/v1/applications/{application_id}/notes"),
    ("get", "/api/v1/jobs/{job_id}/applications.csv"),
    ("post", "/api/v1/jobs/{job_id}/applications/status"),
    ("get", "/api/v1/users/me/applicant-counts"),
    ("post", "/api/v1/applications/{application_id}/interviews"),
    ("get", "/api/v1/applications/{application_id}/interviews"),
    ("patch", "/api/v1/interviews/{interview_id}"),
    ("post", "/api/v1/interviews/{interview_id}/cancel"),
    ("post", "/api/v1/interviews/{interview_id}/answer"),
    ("get", "/api/v1/jobs/{job_id}/stages"),
    ("put", "/api/v1/jobs/{job_id}/stages"),
    ("get", "/api/v1/jobs/{job_id}/questions"),
    ("put", "/api/v1/jobs/{job_id}/questions"),
    ("get", "/api/v1/applications/{application_id}/answers"),
    ("post", "/api/v1/applications/{application_id}/rejection-preview"),
    ("get", "/api/v1/companies/{company_id}/responsiveness"),
    ("get", "/api/v1/jobs/{job_id}/review-settings"),
    ("put", "/api/v1/jobs/{job_id}/review-settings"),
    ("post", "/api/v1/applications/{application_id}/reveal"),
    ("get", "/api/v1/applications/{application_id}/profile"),
    ("post", "/api/v1/users/me/resumes"),
    ("get", "/api/v1/users/me/resumes"),
    ("delete", "/api/v1/users/me/resumes/{resume_id}"),
    ("get", "/api/v1/resumes/{resume_id}"),
    ("get", "/api/v1/resumes/{resume_id}/file"),
    ("get", "/api/v1/users/me/profile"),
    ("put", "/api/v1/users/me/profile"),
    ("get", "/api/v1/admin/users"),
    ("patch", "/api/v1/admin/users/{user_id}"),
    ("get", "/api/v1/moderation/jobs"),
    ("get", "/api/v1/moderation/jobs/{job_id}"),
    ("post", "/api/v1/moderation/jobs/{job_id}/decisions"),
    ("put", "/api/v1/moderation/companies/{company_id}/review-policy"),
    ("get", "/api/v1/jobs/{job_id}/decisions"),
    ("post", "/api/v1/jobs/{job_id}/reports"),
    ("get", "/api/v1/jobs/{job_id}/comments"),
    ("post", "/api/v1/jobs/{job_id}/comments"),
    ("get", "/api/v1/moderation/banned-domains"),
    ("put", "/api/v1/moderation/banned-domains/{domain}"),
    ("delete", "/api/v1/moderation/banned-domains/{domain}"),
    ("post", "/api/v1/companies/{company_id}/verification"),
    ("post", "/api/v1/companies/verify"),
    ("post", "/api/v1/jobs/{job_id}/open-confirmations"),
    ("post", "/api/v1/jobs/open-check"),
    ("get", "/api/v1/moderation/revisions"),
    ("get", "/api/v1/moderation/revisions/{revision_id}"),
    ("post", "/api/v1/moderation/revisions/{revision_id}/decisions"),
    ("get", "/api/v1/jobs/{job_id}/revisions"),
    ("delete", "/api/v1/jobs/{job_id}/revision"),
}
READ_MODELS = {
    "UserRead": {
        "id", "email", "full_name", "role", "is_active", "created_at", "email_verified_at",
        "email_verified",
    },
    "NotificationSettings": {
        "new_applicants",
        "application_status",
        "job_alerts",
        "job_expiry",
    },
    "SavedSearchRead": {
        "id", "name", "search", "frequency", "alerted_through", "next_alert_at", "created_at",
        "updated_at",
    },
    "CompanyRead": {
        "id", "name", "website", "description", "description_html", "owner_id", "verified",
        "verified_domain", "created_at",
    },
    "ApplicationRead": {
        "id", "job_id", "candidate_id", "status", "stage", "cover_letter", "resume_id",
        "created_at", "updated_at",
    },
    "ApplicantRead": {
        "id", "job_id", "candidate_id", "status", "stage", "cover_letter", "resume_id",
        "created_at", "updated_at", "candidate_name", "candidate_email", "viewed_at",
        "rejection_reason", "masked",
    },
    "CompanyApplicantRead": {
        "id", "job_id", "candidate_id", "status", "stage", "cover_letter", "resume_id",
        "created_at", "updated_at", "candidate_name", "candidate_email", "viewed_at",
        "rejection_reason", "masked", "job_title",
    },
    "TimelineEvent": {
        "id", "kind", "status", "reason", "note", "detail", "stage", "actor_name", "created_at",
    },
    "StageRead": {"key", "name", "status", "applications"},
    "ApplicantCounts": {"job_id", "total", "by_status", "by_stage"},
    "QuestionRead": {
        "id", "kind", "prompt", "required", "choices", "knockout_answer", "knockout_choices",
        "knockout_below", "knockout_above",
    },
    "AnswerRead": {"id", "kind", "prompt", "answer", "knocked_out"},
    "MailPreview": {"subject", "text", "html"},
    "ResponsivenessRead": {
        "company_id", "applications", "answered_within_30_days", "median_hours_to_first_answer",
        "computed_at",
    },
    "InterviewRead": {
        "id", "application_id", "starts_at", "minutes", "location", "note", "state",
        "sequence", "created_at", "updated_at",
    },
    "ResumeRead": {
        "id", "file_name", "media_type", "size", "pages", "text_state", "created_at",
    },
    "ProfileRead": {
        "user_id", "full_name", "headline", "summary", "skills", "links", "location",
        "work_authorization", "open_to_remote", "updated_at",
    },
    "TokenPair": {"access_token", "token_type", "expires_in", "refresh_token"},
    "DecisionRead": {"id", "decision", "reasons", "note", "created_at"},
    "DecisionRecord": {
        "id", "decision", "reasons", "note", "created_at", "moderator_id", "moderator_name",
    },
    "PosterRead": {
        "id", "email", "full_name", "member_since", "email_verified_at", "approved_jobs",
        "rejected_jobs",
    },
    "CompanyReviewed": {
        "id", "name", "website", "review_policy", "verified_domain", "created_at",
    },
    "QueuedJob": {"job", "company", "poster", "signals", "open_reports"},
    "JobReview": {
        "job", "company", "poster", "signals", "open_reports", "decisions", "reports",
    },
    "SignalRead": {"code", "holds", "says"},
    "RevisionRead": {
        "id", "job_id", "changes", "decision", "reasons", "note", "created_at", "updated_at",
        "decided_at",
    },
    "RevisionRecord": {
        "id", "job_id", "changes", "decision", "reasons", "note", "created_at", "updated_at",
        "decided_at", "decided_by", "signals",
    },
    "RevisionReview": {"revision", "job"},
    "CommentRead": {"id", "by_moderator", "author_name", "body", "created_at"},
    "BannedDomainRead": {"domain", "reason", "banned_by", "created_at"},
    "ReportRead": {"id", "reason", "note", "created_at"},
    "ReportRecord": {"id", "reason", "note", "created_at", "reporter_email"},
    "Problem": {"type", "title", "status", "detail"},
    "ValidationProblem": {"type", "title", "status", "detail", "errors"},
}  # fmt: skip


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = document["components"]["schemas"][schema["$ref"].split("/")[-1]]
        return resolved
    return schema


async def test_openapi_3_1_and_docs_are_served(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    assert document["openapi"].startswith("3.1")
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_every_route_of_the_contract_and_no_other(document: dict[str, Any]) -> None:
    assert {(method, path) for method, path, _ in operations(document)} == CONTRACT


def test_operation_ids_are_unique_and_stable(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)+", op_id) for op_id in ids), ids
    by_route = {(m, p): op["operationId"] for m, p, op in operations(document)}
    assert by_route[("get", "/api/v1/jobs")] == "jobs-list"
    assert by_route[("post", "/api/v1/jobs")] == "jobs-create"
    assert by_route[("post", "/api/v1/jobs/{job_id}/applications")] == "applications-create"


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        for media_type, content in body["content"].items():
            schema = resolve(document, content["schema"])
            if media_type == "application/json" and "anyOf" in content["schema"]:
                refs = [s for s in content["schema"]["anyOf"] if "$ref" in s]
                schema = resolve(document, refs[0])
            has_example = "example" in content or "examples" in content or "examples" in schema
            assert has_example, (method, path, media_type)


def test_errors_are_documented_as_problems(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert list(response["content"]) == ["application/problem+json"], (method, path)
            schema = response["content"]["application/problem+json"]["schema"]
            expected = "ValidationProblem" if status == "422" else "Problem"
            assert schema == {"$ref": f"#/components/schemas/{expected}"}, (method, path, status)


def test_protected_routes_document_401(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if operation.get("security"):
            assert "401" in operation["responses"], (method, path)


def _reads_the_token(dependant: Dependant) -> bool:
    # The route itself (one that signs its caller in on the session it opens) or a dependency.
    return reads_the_token(dependant.call) or any(
        _reads_the_token(sub) for sub in dependant.dependencies
    )


def test_operations_declare_the_bearer_token_exactly_where_it_is_read(
    app: FastAPI, document: dict[str, Any]
) -> None:
    # The token is read without a FastAPI dependency (`deps.reads_bearer_token`): the
    # document declares it from that mark, as FastAPI declared the scheme's dependency.
    bearer: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]
    # The routes a company's API key may call take either (OpenAPI: one of the list).
    keyed = [{"ApiKey": []}, *bearer]
    external = "/api/v1/companies/{company_id}/jobs/external"
    key_routes = {
        ("get", "/api/v1/jobs/{job_id}/applications"),
        ("get", "/api/v1/jobs/{job_id}/applications.csv"),
        ("post", "/api/v1/jobs/{job_id}/applications/status"),
        ("put", f"{external}/{{external_id}}"),
        ("get", f"{external}/{{external_id}}"),
        ("post", f"{external}/{{external_id}}/close"),
        ("post", external),
    }
    secured = set()
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = re.sub(r":\w+}", "}", route.path)
        for method in route.methods or ():
            operation = document["paths"][path][method.lower()]
            reads = _reads_the_token(route.dependant)
            expected = keyed if (method.lower(), path) in key_routes else bearer
            assert operation.get("security") == (expected if reads else None), (method, path)
            if reads:
                secured.add((method.lower(), path))
    assert key_routes <= secured
    assert {
        ("get", "/api/v1/users/me"),
        ("get", "/api/v1/jobs/{job_id}"),  # anonymous or signed in
        ("get", "/api/v1/users/me/applications"),
        ("post", "/api/v1/jobs"),
        ("patch", "/api/v1/admin/users/{user_id}"),
    } <= secured
    assert not secured & {("get", "/api/v1/jobs"), ("post", "/api/v1/auth/token")}
    schemes = document["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"] == {
        "type": "oauth2",
        "flows": {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/token"}},
    }
    assert (schemes["ApiKey"]["type"], schemes["ApiKey"]["scheme"]) == ("http", "bearer")
    assert set(schemes) == {"OAuth2PasswordBearer", "ApiKey"}


def test_read_models_carry_exactly_the_contract_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, fields in READ_MODELS.items():
        assert set(schemas[name]["properties"]) == fields, name
    job_fields = set(schemas["JobRead"]["properties"])
    create_fields = set(schemas["JobCreate"]["properties"])
    derived = {
        "id", "company_name", "company_verified", "created_at", "updated_at", "published_at",
        "description_html", "submitted_at", "confirmed_open_at",
    }  # fmt: skip
    assert job_fields == create_fields | derived


def test_request_bodies_forbid_unknown_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith(("Create", "Update", "Request", "Confirm", "Change")):
            assert schema.get("additionalProperties") is False, name


VERSIONED = {
    ("patch", "/api/v1/companies/{company_id}"),
    ("patch", "/api/v1/jobs/{job_id}"),
    ("delete", "/api/v1/jobs/{job_id}"),
    ("patch", "/api/v1/applications/{application_id}"),
    ("put", "/api/v1/jobs/{job_id}/stages"),
    ("patch", "/api/v1/interviews/{interview_id}"),
}
TAGGED_READS = {
    ("get", "/api/v1/jobs/{job_id}/stages"),
    ("get", "/api/v1/moderation/jobs/{job_id}"),
    ("get", "/api/v1/companies/{company_id}"),
    ("get", "/api/v1/jobs/{job_id}"),
    ("get", "/api/v1/applications/{application_id}"),
}


def test_versioned_changes_take_if_match_and_document_412(document: dict[str, Any]) -> None:
    for method, path in VERSIONED:
        operation = document["paths"][path][method]
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert headers == ["If-Match"], (method, path)
        assert "412" in operation["responses"], (method, path)
    for method, path in TAGGED_READS | (VERSIONED - {("delete", "/api/v1/jobs/{job_id}")}):
        success = document["paths"][path][method]["responses"]["200"]
        assert "ETag" in success.get("headers", {}), (method, path)


async def test_redoc_is_not_served(client: httpx.AsyncClient) -> None:
    # ReDoc's bundle asks a third-party host for its attribution logo on every view, with no
    # option to turn it off: /docs (Swagger UI) is the one documentation page.
    assert (await client.get("/redoc")).status_code == 404


@pytest.mark.parametrize("page", ["/docs"])
async def test_docs_pages_load_every_asset_from_the_app_itself(
    client: httpx.AsyncClient, page: str
) -> None:
    # Nothing from a CDN: the pages work on a network that reaches only this server.
    html = (await client.get(page)).text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert any(asset.endswith(".js") for asset in assets), html
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert int(response.headers["content-length"]) > 0
    # The spec URL both pages read, and the page Swagger UI's OAuth2 flow returns to.
    assert "/openapi.json" in html
    if page == "/docs":
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200

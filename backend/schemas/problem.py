"""RFC 9457 problem details, the body of every error response."""

from pydantic import BaseModel


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ValidationProblem(Problem):
    errors: list[ValidationIssue]

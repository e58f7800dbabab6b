"""Ids: PostgreSQL BIGINTs. A larger one in a path, a body, a cursor or a token is refused
as bad input, before it can fail in a query."""

MAX_ID = 2**63 - 1

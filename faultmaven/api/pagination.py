"""`X-Total-Count` and RFC 8288 `Link` headers for list routes."""

from __future__ import annotations

from fastapi import Request, Response


def set_page_headers(request: Request, response: Response, *, total: int, limit: int, offset: int) -> None:
    response.headers["X-Total-Count"] = str(total)
    links = []
    if offset + limit < total:
        links.append(f'<{request.url.include_query_params(limit=limit, offset=offset + limit)}>; rel="next"')
    if offset > 0:
        previous = max(offset - limit, 0)
        links.append(f'<{request.url.include_query_params(limit=limit, offset=previous)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)

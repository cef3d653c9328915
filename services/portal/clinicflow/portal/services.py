"""The five services' HTTP APIs, called as the signed-in person (their bearer token). The portal owns no clinical
data: every page is built from these calls, and a service that does not answer becomes a banner, not a stack trace."""

from __future__ import annotations

from typing import Any

import httpx


class ServiceDown(Exception):
    """A service did not answer (or answered 5xx)."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} is not answering")
        self.service = service


class Refused(Exception):
    """A service refused the request (4xx); ``detail`` is what it said, field by field for a 422."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail

    def by_field(self) -> dict[str, str]:
        """A 422's messages by field (the last part of each location), to show beside the fields; '' for the rest."""
        if not isinstance(self.detail, list):
            return {"": str(self.detail)}
        found: dict[str, str] = {}
        for problem in self.detail:
            location = [str(part) for part in problem.get("loc", [])[1:]]
            found.setdefault(location[-1] if location else "", problem.get("msg", "invalid"))
        return found


class Services:
    """One HTTP client per service."""

    def __init__(self, urls: dict[str, str], *, timeout: float = 10.0) -> None:
        self._clients = {name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()}

    async def call(self, service: str, method: str, path: str, *, token: str, json: Any = None,
                   params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
        """One call; its JSON (None when empty). :class:`Refused` for 4xx, :class:`ServiceDown` otherwise."""
        try:
            response = await self._clients[service].request(
                method, path, json=json, params=params,
                headers={"Authorization": f"Bearer {token}", **(headers or {})})
        except httpx.HTTPError:
            raise ServiceDown(service) from None
        if response.status_code >= 500:
            raise ServiceDown(service)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise Refused(response.status_code, detail)
        return response.json() if response.content else None

    async def download(self, service: str, path: str, *, token: str, accept: str) -> bytes:
        """A GET answered in another format than JSON (CSV, PDF); the same errors as :meth:`call`."""
        try:
            response = await self._clients[service].get(
                path, headers={"Authorization": f"Bearer {token}", "Accept": accept})
        except httpx.HTTPError:
            raise ServiceDown(service) from None
        if response.status_code >= 500:
            raise ServiceDown(service)
        if response.status_code >= 400:
            raise Refused(response.status_code, response.text)
        return response.content

    async def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            await client.aclose()

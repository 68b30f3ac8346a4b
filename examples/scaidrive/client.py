"""A ScaiDrive download that never mistakes a cut-off stream for a whole file.

An error after the response headers were sent cannot become an error status:
the server aborts, and the body ends early. The client checks the length and
the checksum the headers promised before it trusts the bytes.
"""

from __future__ import annotations

import hashlib

import httpx

from problemdetails import Catalog, DetailProfile
from problemdetails.client import raise_for_problem


class TruncatedDownload(Exception):
    """The stream ended before the whole file arrived, or its bytes do not match the checksum."""


def download(client: httpx.Client, url: str, *, catalog: Catalog | None = None) -> bytes:
    """The file at `url`, whole; raises the typed problem for an error status, `TruncatedDownload` for a cut."""
    with client.stream("GET", url) as response:
        if response.status_code >= 400:
            response.read()  # the legacy `{"detail"}` body, read back into the catalog's problem
            raise_for_problem(response, catalog=catalog, profile=DetailProfile(objects=False))
        expected = int(response.headers["content-length"])
        chunks: list[bytes] = []
        try:
            for chunk in response.iter_raw():
                chunks.append(chunk)
        except httpx.RemoteProtocolError as error:  # the connection closed mid-body
            received = sum(map(len, chunks))
            raise TruncatedDownload(f"got {received} of {expected} bytes") from error
    body = b"".join(chunks)
    if len(body) != expected:
        raise TruncatedDownload(f"got {len(body)} of {expected} bytes")
    if hashlib.sha256(body).hexdigest() != response.headers["x-checksum-sha256"]:
        raise TruncatedDownload("checksum mismatch")
    return body

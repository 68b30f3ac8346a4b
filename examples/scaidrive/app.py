"""ScaiDrive, rebuilt on problemdetails (FastAPI): its `{"detail": ...}` contract, then RFC 9457 on request.

Run it: `uvicorn --app-dir examples/scaidrive app:app`. Legacy clients keep
`{"detail": "..."}` and FastAPI's validation array (`DetailProfile`); a
client that sends `Accept: application/problem+json` gets a `code` and a
`request_id`, closing the two "known gaps" of the original API. Every response
carries `X-Request-ID`. WebSocket errors close with 4401/4403/4429, and a
download that fails after its headers were sent is cut short, so a client
that checks `Content-Length` (see `client.py`) notices.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from enum import Enum
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from problemdetails import Catalog, DetailProfile, ProblemMiddleware

CATALOG = Catalog.load(Path(__file__).with_name("catalog.yaml"))
MAX_UPLOAD = 5 * 1024 * 1024
FILE = b"0123456789abcdef" * 4096  # a 64 KiB file
api = FastAPI()


class Role(str, Enum):
    owner = "owner"
    admin = "admin"
    contributor = "contributor"
    reader = "reader"


class Share(BaseModel):
    role: Role
    expires_in_days: int = Field(le=365)


@api.get("/files/{file_id}")
async def get_file(file_id: str) -> dict[str, str]:
    if not file_id.startswith("fil_"):
        raise CATALOG["bad-request"]("Malformed file id")
    raise CATALOG["not-found"]("File not found")


@api.put("/files/{file_id}")
async def write_file(file_id: str) -> dict[str, str]:
    raise CATALOG["forbidden"](f"Permission denied: WRITE on file/{file_id}")


@api.post("/files/{file_id}/rename")
async def rename(file_id: str) -> dict[str, str]:
    raise CATALOG["conflict"]("A file with this name already exists in the folder")


@api.get("/invitations/{invitation_id}")
async def invitation(invitation_id: str) -> dict[str, str]:
    raise CATALOG["gone"]("Invitation expired")


@api.post("/uploads")
async def upload(request: Request) -> dict[str, str]:
    if int(request.headers.get("content-length", "0")) > MAX_UPLOAD:
        raise CATALOG["payload-too-large"]("File exceeds the tenant's 5 MiB per-file cap", max_bytes=MAX_UPLOAD)
    raise CATALOG["insufficient-storage"]("Tenant storage quota would be exceeded", level="tenant")


@api.post("/shares")
async def create_share(share: Share) -> dict[str, str]:
    return {"role": share.role.value}


@api.get("/me")
async def me(request: Request) -> dict[str, str]:
    if "authorization" not in request.headers:
        raise CATALOG["unauthorized"]("Not authenticated")
    return {"user": "usr_1"}


@api.get("/search")
async def search() -> dict[str, str]:
    raise CATALOG["rate-limited"]("Rate limit exceeded", retry_after=30)


@api.get("/crash")
async def crash() -> dict[str, str]:
    raise ZeroDivisionError("s3://scaidrive-prod/tenant-7 credentials rejected")


@api.get("/connectors/{connector_id}")
async def connector(connector_id: str) -> dict[str, str]:
    raise CATALOG["bad-gateway"]("SharePoint connector source unreachable")


@api.get("/ready")
async def ready() -> dict[str, str]:
    raise CATALOG["unavailable"]("Search index drained")


@api.get("/slow")
async def slow() -> dict[str, str]:
    raise CATALOG["gateway-timeout"]("Weaviate timed out")


@api.get("/download/{file_id}")
async def download(file_id: str) -> StreamingResponse:
    """Streams the file; `fil_broken` fails halfway, after the headers went out."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(FILE), 8192):
            if file_id == "fil_broken" and start >= len(FILE) // 2:
                raise OSError("storage node went away")
            yield FILE[start : start + 8192]

    headers = {"Content-Length": str(len(FILE)), "X-Checksum-SHA256": hashlib.sha256(FILE).hexdigest()}
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


@api.websocket("/ws/events")
async def events(websocket: WebSocket) -> None:
    await websocket.accept()
    token = await websocket.receive_text()
    if token == "suspended":
        raise CATALOG["forbidden"]("User suspended")
    if token == "too-many":
        raise CATALOG["rate-limited"]("Connection limit hit for this token")
    if token != "valid":
        raise CATALOG["unauthorized"]("Auth token invalid or missing")
    await websocket.send_json({"event": "subscribed"})
    await websocket.close()


app = ProblemMiddleware(api, catalog=CATALOG, profile=DetailProfile(objects=False))

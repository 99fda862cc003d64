"""The dashboard's base maps: PMTiles archives at /basemap/{name}.pmtiles, read by range.

The browser never downloads an archive whole: pmtiles.js reads its header and directories,
then each tile, as HTTP range requests (206 with Content-Range). An archive is one static
file, public like the dashboard's other files (it is the city's map, not its data).
"""

from __future__ import annotations

import mmap
import os
import re
from functools import lru_cache
from pathlib import Path

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from cityos.context.errors import ResourceNotFound

from .http import problem_response, services
from .web import SECURITY_HEADERS

BASEMAP = "/basemap"
MEDIA_TYPE = "application/vnd.pmtiles"
RANGE = re.compile(r"bytes=\s*(\d+-\d*|-\d+)(\s*,\s*(\d+-\d*|-\d+))*\s*")
"""A byte-ranges header as RFC 9110 writes it; anything else is refused with 416."""
CACHE = "no-cache"
"""Revalidate (ETag): a city may replace its archive in place."""


@lru_cache(maxsize=8)
def _mapped(path: Path, mtime_ns: int, size: int) -> mmap.mmap:
    """The archive mapped into memory, once per version of the file (a replaced archive has
    another mtime or size, so another entry): a tile is a slice of it, with no thread hop
    and no open/read/close per request. Tiles are small; the pages they touch are in the
    page cache after the first read."""
    with path.open("rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _unsatisfiable(size: int) -> Response:
    return Response(
        status_code=416,
        headers={"content-range": f"bytes */{size}", **SECURITY_HEADERS},
    )


async def archive(request: Request) -> Response:
    """An archive, whole (200), by range (206), or not at all (416, 304, 404)."""
    name = request.path_params["name"]
    path = services(request).settings.basemaps.get(name)
    try:
        # on the loop: a stat of a local file costs microseconds, a thread hop costs more
        stat = os.stat(path) if path is not None else None
    except OSError:
        stat = None
    if path is None or stat is None:
        return problem_response(ResourceNotFound(f"No base map {name!r} on this server."))
    response = FileResponse(path, stat_result=stat, media_type=MEDIA_TYPE)
    response.headers.update({"cache-control": CACHE, **SECURITY_HEADERS})
    headers = Headers(scope=request.scope)
    asked = headers.get("range")
    if asked is not None:
        # Starlette answers 400 to a malformed header and 200 past the end of some ranges;
        # pmtiles clients and caches expect 416 for both
        if not RANGE.fullmatch(asked) or _beyond(asked, stat.st_size):
            return _unsatisfiable(stat.st_size)
        single = _single(asked, stat.st_size)
        if single is not None and stat.st_size > 0:
            start, end = single
            data = _mapped(path, stat.st_mtime_ns, stat.st_size)[start : end + 1]
            ranged = Response(data, status_code=206, media_type=MEDIA_TYPE)
            for name in ("etag", "last-modified", "accept-ranges", "cache-control"):
                ranged.headers[name] = response.headers[name]
            ranged.headers.update(SECURITY_HEADERS)
            ranged.headers["content-range"] = f"bytes {start}-{end}/{stat.st_size}"
            return ranged
    elif headers.get("if-none-match") == response.headers["etag"]:
        return Response(status_code=304, headers={"etag": response.headers["etag"]})
    # the whole file, or several ranges (multipart): Starlette's FileResponse
    return response


def _single(ranges: str, size: int) -> tuple[int, int] | None:
    """The first and last byte of a one-range header (clamped to the file), else None."""
    spec = ranges.removeprefix("bytes=").strip()
    if "," in spec:
        return None
    start, _, end = spec.partition("-")
    if start == "":
        return max(0, size - int(end)), size - 1
    return int(start), min(int(end), size - 1) if end else size - 1


def _beyond(ranges: str, size: int) -> bool:
    """Whether no range of `bytes=…` overlaps the file (RFC 9110 §14.1.1: then 416)."""
    for part in ranges.removeprefix("bytes=").split(","):
        start, _, end = part.strip().partition("-")
        if start == "":
            if int(end) > 0 and size > 0:
                return False
        elif int(start) < size and (end == "" or int(start) <= int(end)):
            return False
    return True


routes: list[BaseRoute] = [
    Route(BASEMAP + "/{name}.pmtiles", archive, methods=["GET", "HEAD"]),
]

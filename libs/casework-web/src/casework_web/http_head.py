"""uvicorn's httptools protocol with a cap on a request's head (its request line and headers),
and its refusals in the services' error body.

Why: uvicorn refuses an unfinished head over 16 KiB when it parses with h11 (h11's
`max_incomplete_event_size`), and not at all with httptools, which keeps a header until it
ends: a 25 MB header was taken in whole, and the process grew by 50 MB, once the services
parsed with httptools for its speed (issue 16). Here a request's head is counted as it arrives,
before the parser sees it; past `HEAD_LIMIT` the request is answered 431 with the usual error
body and the connection closed, the parser never having held more than the limit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_LIMIT = 16 * 1024
"""Bytes a request's line and headers may take: h11's limit, which the services had before."""

log = logging.getLogger("casework_web.http")


class BoundedHead(HttpToolsProtocol):
    """`HttpToolsProtocol` that answers 431 to a request whose head runs past `HEAD_LIMIT`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        """Between requests, or inside one's head: what arrives is (a) head."""
        self._head = 0
        """Bytes of the head so far."""
        self._tail = b""
        """The last bytes of the head so far (its end may straddle two reads)."""

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            # Counted before the parser sees them: the head's bytes in this read, up to and
            # with the blank line that ends it (what follows is body, or the next request).
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._head += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            if self._head > HEAD_LIMIT:
                self._refuse_head()
                return
            self._tail = seen[-3:]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head, self._head, self._tail = False, 0, b""
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        super().on_message_complete()

    def _refuse_head(self) -> None:
        log.warning("refused a request whose head is over %d bytes", HEAD_LIMIT)
        self._refuse(
            b"431 Request Header Fields Too Large",
            "headers_too_large",
            f"the request line and headers take more than {HEAD_LIMIT} bytes; send shorter "
            "headers (large data goes in the body)",
        )

    def send_400_response(self, msg: str) -> None:
        """What does not parse as HTTP/1.1: uvicorn's 400, in the error body every other
        answer of the services uses (uvicorn's own is a line of plain text)."""
        self._refuse(
            b"400 Bad Request",
            "invalid_http",
            "the request is not valid HTTP/1.1 (its request line, a header or the framing of "
            "its body); send a well-formed request",
        )

    def _refuse(self, status: bytes, code: str, message: str) -> None:
        body = json.dumps({"code": code, "message": message}).encode()
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()

"""Progress on stderr, so stdout stays the command's result (the case files, the figures).

On a terminal one line is redrawn in place (a step with its elapsed time, or a bar); anywhere
else (a pipe, a CI log, a test) each step is one plain line and a bar reports at most every few
seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """Steps (`step`) and bars (`advance`) on one stream; `done` clears the live line."""

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.began = time.monotonic()
        self._line = ""
        self._last_report = 0.0
        self._last_bar: tuple[str, int] | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def step(self, text: str) -> None:
        stamp = f"[{self.elapsed():5.1f} s]"
        if self.live:
            self._draw(f"{stamp} {text}")
        else:
            print(f"{stamp} {text}", file=self.stream, flush=True)

    def bar(self, label: str, done: int, total: int, unit: str = "") -> None:
        """A bar of `done` out of `total`; off a terminal, a line every 2 s and at the end."""
        share = done / total if total else 1.0
        width = 30
        filled = round(share * width)
        rate = done / self.elapsed() if self.elapsed() > 0 else 0.0
        text = (
            f"{label} [{'#' * filled}{'-' * (width - filled)}] {share:4.0%} "
            f"{done:,}/{total:,} {unit} {rate:,.0f} {unit}/s"
        ).rstrip()
        if self.live:
            self._draw(text)
            return
        now = time.monotonic()
        finished = done >= total and self._last_bar != (label, done)
        if finished or now - self._last_report >= 2.0:
            self._last_report = now
            self._last_bar = (label, done)
            print(text, file=self.stream, flush=True)

    def done(self, text: str | None = None) -> None:
        if self.live and self._line:
            self.stream.write("\r" + " " * len(self._line) + "\r")
            self._line = ""
        if text:
            print(text, file=self.stream, flush=True)

    def _draw(self, text: str) -> None:
        columns = 100
        shown = text if len(text) <= columns else text[: columns - 1] + "…"
        pad = " " * max(0, len(self._line) - len(shown))
        self.stream.write("\r" + shown + pad)
        self.stream.flush()
        self._line = shown

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.done()

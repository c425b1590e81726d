"""One JSON object per log line, in every long-running Casework process.

An operator reads a log with line tools (jq, Loki, journald): one plain line — uvicorn's
"Started server process", a warning, a nats-py error, a traceback — breaks that. So each
process (the services, the relay, the stack's children) sets logging up once, here:

- one handler, on the root logger, writing JSON lines to stderr (python-json-logger formats);
  every other logger (uvicorn's, nats-py's, asyncio's, `casework.*`, the service's own)
  propagates to it, and loggers that brought a handler of their own lose it;
- Python warnings become log records (`py.warnings`);
- an uncaught exception, in the main thread or another, or one Python can only report as
  "ignored", is logged with its traceback inside the object (`exc_info`), not printed;
- with `capture_stray_output` (the stack's children), whatever is still printed to stdout or
  stderr (a startup error, a library writing to the stream) becomes one object per line too.

`logging_config` is the same setup as a `logging.config.dictConfig` dictionary, handed to uvicorn
as its `log_config` so uvicorn applies exactly this and nothing of its own.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import logging.config
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

FORMATTER = "casework.logs.JsonFormatter"
UNCAUGHT = "casework.uncaught"
THIRD_PARTY = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "nats", "asyncio")
"""Loggers that some libraries give handlers of their own; here they propagate to the root."""

_configured = False


class JsonFormatter(_JsonFormatter):
    """`time` (UTC, ISO 8601), `level`, `logger`, `message`, the record's extras, and, when
    there is one, the traceback as `exc_info`; non-ASCII text as it is (addresses, names)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat()
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        super().add_fields(log_data, record, message_dict)
        log_data.pop("color_message", None)  # uvicorn's copy of the message with ANSI colours


def logging_config(level: str = "INFO", formatter: str = FORMATTER) -> dict[str, Any]:
    """The dictConfig of this module's setup; `formatter` names a `JsonFormatter` subclass
    (a service's adds its request id)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": formatter}},
        "handlers": {"stderr": {"()": "casework.logs.stderr_handler", "formatter": "json"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in THIRD_PARTY},
    }


def stderr_handler() -> logging.Handler:
    """A handler on stderr; on the stream under `StrayLines` if stderr is wrapped (its records
    are JSON already)."""
    stream = sys.stderr
    return logging.StreamHandler(stream.target if isinstance(stream, StrayLines) else stream)


def configure_logging(level: str = "INFO", formatter: str = FORMATTER) -> None:
    """Make every line this process logs one JSON object on stderr; see the module docstring."""
    global _configured
    logging.config.dictConfig(logging_config(level, formatter))
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            logger.handlers.clear()
            logger.propagate = True
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
    sys.unraisablehook = _unraisable
    _configured = True


def configured() -> bool:
    """Whether this process logs JSON (so a command's last words should be logged, not printed)."""
    return _configured


def _uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    logging.getLogger(UNCAUGHT).critical(
        "uncaught %s: %s", kind.__name__, error, exc_info=(kind, error, traceback)
    )


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    logging.getLogger(UNCAUGHT).critical(
        "uncaught %s in %s: %s",
        args.exc_type.__name__,
        name,
        args.exc_value,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )


def _unraisable(args: Any) -> None:
    """Exceptions Python can only report (in `__del__`, a finalizer): logged, not printed."""
    kind = args.exc_type
    logging.getLogger(UNCAUGHT).error(
        "%s %r",
        args.err_msg or "exception ignored in",
        args.object,
        exc_info=(kind, args.exc_value or kind(), args.exc_traceback),
    )


class StrayLines(io.TextIOBase):
    """A text stream that passes on each line that already is a JSON object (a log record) and
    wraps any other line as one (`logger` "stdout" or "stderr"), so a `print` cannot break a
    log that is read line by line."""

    def __init__(self, target: TextIO, name: str, level: str) -> None:
        super().__init__()
        self.target, self.name, self.level = target, name, level
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            *lines, self._pending = self._pending.split("\n")
            for line in lines:
                self.target.write(self._as_json(line) + "\n")
            if lines:
                self.target.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.target.write(self._as_json(self._pending) + "\n")
                self._pending = ""
            self.target.flush()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.target.fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding

    def _as_json(self, line: str) -> str:
        if line.startswith("{"):
            try:
                if isinstance(json.loads(line), dict):
                    return line
            except ValueError:
                pass
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "level": self.level,
            "logger": self.name,
            "message": line,
        }
        return json.dumps(entry, ensure_ascii=False)


def capture_stray_output() -> None:
    """Make whatever this process prints to stdout or stderr JSON lines (see `StrayLines`)."""
    if not isinstance(sys.stdout, StrayLines):
        sys.stdout = StrayLines(sys.stdout, "stdout", "info")
    if not isinstance(sys.stderr, StrayLines):
        sys.stderr = StrayLines(sys.stderr, "stderr", "warning")
    atexit.register(sys.stdout.flush)
    atexit.register(sys.stderr.flush)


def describe(error: BaseException) -> str:
    """The error in one line, its kind first (what an operator searches the logs for), at most
    500 characters: for log lines and recorded failures that must stay one line."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:500] if text else type(error).__name__

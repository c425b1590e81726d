"""The intake's web pages: the compound dashboard and the case file (server-rendered)."""

from intake.web.pages import router

__all__ = ["router"]

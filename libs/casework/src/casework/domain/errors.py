"""Domain errors. Each message says what was wrong in words a person can act on."""


class CaseworkError(Exception):
    """Base of every error the casework library raises on purpose."""


class ValidationError(CaseworkError):
    """An argument to a command is malformed (an address, a score, an empty reason)."""


class NotPermittedError(CaseworkError):
    """The acting role may not perform this command; nothing was recorded."""


class InvalidTransitionError(CaseworkError):
    """The command does not fit the case's current state; nothing was recorded."""


class CaseNotFoundError(CaseworkError):
    """No case file exists with that id."""


class ConcurrencyConflictError(CaseworkError):
    """Other commands kept changing the case while this one retried; nothing was recorded."""


class TamperedError(CaseworkError):
    """A case file does not verify, so an operation that vouches for it refuses."""

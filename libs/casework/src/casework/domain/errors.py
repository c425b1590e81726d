"""Domain errors. Each message says what was wrong in words a person can act on."""


class CaseworkError(Exception):
    """Base of every error the casework library raises on purpose."""


class ValidationError(CaseworkError):
    """An argument to a command is malformed (an address, a score, an empty reason)."""


class NotPermittedError(CaseworkError):
    """The acting role may not perform this command; nothing was recorded."""


class InvalidTransitionError(CaseworkError):
    """The command does not fit the case's current state; nothing was recorded."""


class OutOfOrderError(InvalidTransitionError):
    """The command is dated earlier than the case's latest event; nothing was recorded.

    A case file's order is its time order (`state_as_of`, the audit timeline and the measures
    rely on it), so a fact cannot be slipped in before one already recorded. It is a kind of
    invalid transition, not a malformed argument: the same time is fine on a case whose
    latest event is older.
    """


class CaseNotFoundError(CaseworkError):
    """No case file exists with that id."""


class CaseExistsError(CaseworkError):
    """A case file with that id exists already: a retried report whose id was derived from its
    Idempotency-Key, whose first attempt was stored though its answer never reached the caller."""


class ConcurrencyConflictError(CaseworkError):
    """Other commands kept changing the case while this one retried; nothing was recorded."""


class TamperedError(CaseworkError):
    """A case file does not verify, so an operation that vouches for it refuses."""

"""The HTTP standards every Casework service shares (see this package's README)."""

from casework_web.auth import (
    PLACE_BOUND_ROLES,
    TOKENS_ENV,
    Principal,
    TokenExpiredError,
    TokenRefusedError,
    TokenStore,
    Who,
    default_tokens_path,
    hash_token,
    principal,
    well_formed_place,
)
from casework_web.errors import ErrorBody, error, error_responses, settings_problem
from casework_web.observability import (
    JsonFormatter,
    Metrics,
    RequestContext,
    configure_logging,
    uvicorn_log_config,
)
from casework_web.ops import (
    Health,
    Readiness,
    feed_status,
    nats_status,
    ops_router,
    store_status,
)
from casework_web.query import reject_unknown_query
from casework_web.standards import Standards, install

__all__ = [
    "PLACE_BOUND_ROLES",
    "TOKENS_ENV",
    "ErrorBody",
    "Health",
    "JsonFormatter",
    "Metrics",
    "Principal",
    "Readiness",
    "RequestContext",
    "Standards",
    "TokenExpiredError",
    "TokenRefusedError",
    "TokenStore",
    "Who",
    "configure_logging",
    "default_tokens_path",
    "error",
    "error_responses",
    "feed_status",
    "hash_token",
    "install",
    "nats_status",
    "ops_router",
    "principal",
    "reject_unknown_query",
    "settings_problem",
    "store_status",
    "uvicorn_log_config",
    "well_formed_place",
]

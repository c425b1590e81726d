"""One router per resource, each module's `router`: the worklist (`GET /disputes`), a dispute
and the commands on it, its meetings, the rules table."""

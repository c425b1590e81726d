"""One router per resource, each module's `router`."""

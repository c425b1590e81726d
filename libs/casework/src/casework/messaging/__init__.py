"""casework.messaging: the NATS side of the library (relay, consumers, dead letters, the
embedded nats-server). It needs the `casework[nats]` extra (nats-py); without it, importing any
module here raises an ImportError that names the extra (see `casework._extras`)."""

from casework._extras import require

require("nats", "casework.messaging")

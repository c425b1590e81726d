"""Each service's NATS user may bind to one durable consumer: the one the service uses."""

from __future__ import annotations

import dispatch.config
import intake.config
import mediation.config
from casework.messaging.nats_users import SERVICE_DURABLES, permissions_of


def test_each_services_default_durable_is_the_one_its_nats_user_may_bind_to() -> None:
    defaults = {
        "intake": intake.config.Settings.model_fields["durable"].default,
        "dispatch": dispatch.config.Settings.model_fields["durable"].default,
        "mediation": mediation.config.Settings.model_fields["durable"].default,
    }
    assert defaults == dict(SERVICE_DURABLES)
    for service, durable in defaults.items():
        allowed = permissions_of(service).publish
        assert f"$JS.API.CONSUMER.MSG.NEXT.CASEWORK.{durable}" in allowed
        others = set(defaults.values()) - {durable}
        assert not any(subject.endswith(f".{other}") for subject in allowed for other in others)

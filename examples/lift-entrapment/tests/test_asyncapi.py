"""The AsyncAPI document of an installation with the lift kind (`casework asyncapi`, without
`--library`) has its channels and messages, its personal fields marked (needs `casework[nats]`:
the document names the dead-letter headers the NATS toolkit uses)."""

from __future__ import annotations

from casework.contracts.asyncapi import asyncapi_document


def test_the_asyncapi_document_of_the_installation_has_the_lift_channels() -> None:
    document = asyncapi_document()
    channel = document["channels"]["lift.people_rescued"]
    assert channel["address"] == "casework.lift.people_rescued.{community}.{compound}"
    assert "lift entrapment 电梯困人" in document["info"]["description"]
    reported = document["components"]["schemas"]["LiftReportedV1"]["properties"]
    assert reported["contact"]["x-personal"] is True

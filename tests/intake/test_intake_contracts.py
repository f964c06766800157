"""intake's contracts: topics, keys, descriptions, and a CloudEvents round trip of each event."""

from contracts import intake as ci
from contracts.base import event_types
from contracts.envelope import Envelope, parse
from contracts.topics import Audience, get_topic

from .helpers import CLERK, MONDAY, company, names, receive

INTAKE = {t: m for t, m in event_types().items() if m.source == "intake"}


def test_topics_and_audiences():
    assert get_topic("intake.contacts").audience is Audience.INTERNAL
    for name in ("intake.catalog", "intake.applications", "intake.consultations", "intake.ratings", "intake.units"):
        assert get_topic(name).audience is Audience.PUBLIC and get_topic(name).owner == "intake"


def test_every_event_is_keyed_as_its_topic_and_described():
    assert len(INTAKE) == 21
    for model in INTAKE.values():
        assert model.key_field == get_topic(model.topic).key, model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"


def test_only_the_contact_event_goes_to_the_internal_topic():
    internal = [m.__name__ for m in INTAKE.values() if get_topic(m.topic).audience is Audience.INTERNAL]
    assert internal == ["ApplicantContactRecorded"]


def test_case_events_survive_the_cloudevents_round_trip():
    app = receive(materials=("M01",), applicant=company())
    app.provide_supplement(CLERK, MONDAY, ["M02", "M03"])
    app.decide(CLERK, MONDAY, "approved", "准予")
    events = app.pull_events()
    assert names(events)[-1] == "ApplicationDecided"
    for e in events:
        env = Envelope.wrap(e)
        back = parse(env.kafka_headers(), env.body())
        assert back.data == e and back.subject == "2024-LYJ-00001"


def test_rating_levels_carry_their_national_labels_and_scores():
    assert [(l.label, l.score) for l in ci.RatingLevel] == [
        ("非常满意", 5), ("满意", 4), ("基本满意", 3), ("不满意", 2), ("非常不满意", 1)]
    assert [l.is_low for l in ci.RatingLevel] == [False, False, False, True, True]

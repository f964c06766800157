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
    # 21 + 7 v2 (no free text on public topics) + 7 internal twins + OutsideHandlingDetected and
    # RectificationOverdueDetected (issue 22: 5, 7) + CaseLeadTaken, CaseLeadReleased, ConsultationAnswered
    assert len(INTAKE) == 40
    for model in INTAKE.values():
        assert model.key_field == get_topic(model.topic).key, model.__name__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"


def test_only_contacts_and_case_texts_go_to_the_internal_topics():
    internal = [m.__name__ for m in INTAKE.values() if get_topic(m.topic).audience is Audience.INTERNAL]
    assert sorted(internal) == sorted([
        "ApplicantContactRecorded", "DecisionTextRecorded", "NotAcceptedTextRecorded", "SupplementTextRecorded",
        "OverrideTextRecorded", "ForwardingTextRecorded", "HigherAnswerTextRecorded", "JointOpinionRecorded"])


def test_case_events_survive_the_cloudevents_round_trip():
    app = receive(materials=("M01",), applicant=company())
    app.provide_supplement(CLERK, MONDAY, ["M02", "M03"])
    app.decide(CLERK, MONDAY, "approved", "准予")
    events = app.pull_events()
    assert names(events)[-2:] == ["ApplicationDecided", "DecisionTextRecorded"]
    for e in events:
        env = Envelope.wrap(e)
        back = parse(env.kafka_headers(), env.body())
        assert back.data == e and back.subject == "2024-LYJ-00001"


def test_rating_levels_carry_their_national_labels_and_scores():
    assert [(l.label, l.score) for l in ci.RatingLevel] == [
        ("非常满意", 5), ("满意", 4), ("基本满意", 3), ("不满意", 2), ("非常不满意", 1)]
    assert [l.is_low for l in ci.RatingLevel] == [False, False, False, True, True]


#: Every text field of the public intake events intake writes today, and why it may be public:
#: ids and codes (no free text), masked identifiers, catalog data (the published guide, written by
#: the center admin: item and unit names, legal basis, fee, flow, material names and conditions,
#: the higher authority, an item's retirement reason), a company's registry data, and the higher
#: authority typed at forwarding (checked at input: an organ's name, no digits).
PUBLIC_TEXT_FIELDS = {
    # ids and codes
    "receipt_no", "unit_code", "item_code", "staff_id", "accepted_by", "decided_by", "supervisor_id", "task_id",
    "override_id", "consultation_id", "rectification_id", "participant_unit_code", "referred_to_unit", "period",
    "decision_id",  # 两头受理: intake's id of a decision reported from outside the center
    # 领办代办 and consultations followed to closure: a lead's id, staff ids and unit codes
    "lead_id", "released_by", "staff_unit", "answered_by", "answered_by_unit",
    "joint_units", "materials_submitted", "materials", "missing.code", "materials.code",
    # masked
    "applicant.masked_name", "applicant.masked_mobile", "applicant.masked_resident_id",
    # registry data of a company (the name: no long digit runs, checked at input)
    "applicant.company_name", "applicant.credit_code",
    # the catalog (published guide) and unit registry
    "item_name", "unit_name", "participant_unit_name", "name", "higher_authority", "legal_basis", "procedure",
    "flow", "fee.standard", "fee.basis", "materials.name", "materials.condition", "missing.name", "window_numbers",
    "reason",  # ItemRetired.reason: the admin's public note on the catalog
    # an organ's name, checked at input
    "authority",
}


def test_public_events_carry_no_free_text_field_beyond_the_known_ones():
    """A new text field on a public event (a 'remark', a 'note') fails here until someone decides
    it carries nothing a clerk types about a person (issue 20)."""
    import typing

    from pydantic import BaseModel

    latest: dict[str, type] = {}
    for model in INTAKE.values():
        if model.__name__ not in latest or latest[model.__name__].version < model.version:
            latest[model.__name__] = model
    found: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            for arg in typing.get_args(field.annotation) or (field.annotation,):
                for leaf in typing.get_args(arg) or (arg,):
                    if isinstance(leaf, type) and issubclass(leaf, BaseModel):
                        walk(leaf, f"{prefix}{name}.")
                    elif leaf is str:
                        found.add(f"{prefix}{name}")

    for model in latest.values():
        if get_topic(model.topic).audience is Audience.PUBLIC:
            walk(model, "")
    assert found - PUBLIC_TEXT_FIELDS == set()
    for gone in ("decision_text", "opinion", "answer", "note", "document_no", "missing.reason", "materials.reason"):
        assert gone not in found

"""Variables drift: keys compared, values never kept, shown or logged."""

from __future__ import annotations

import hashlib
import logging

import pytest
from django.contrib.auth.models import Group
from django.template.loader import render_to_string

from deployments_app.services import variables_drift as drift_module
from deployments_app.services.serverless_types import Variable
from deployments_app.services.variables_drift import Drift, VariablesDrift, variables_drift

SECRET_SOURCE = "sk_live_source_4242424242424242"
SECRET_TARGET = "sk_live_target_1313131313131313"
SHARED_SECRET = "whsec_same_on_both_sides_9f8e7d"


def var(key: str, value: str) -> Variable:
    return Variable(
        sid="ZV" + hashlib.md5(key.encode()).hexdigest(),  # noqa: S324 (a test SID)
        account_sid=None,
        service_sid=None,
        environment_sid=None,
        key=key,
        value=value,
        date_created=None,
        date_updated=None,
        url=None,
    )


SOURCE = [
    var("API_KEY", SECRET_SOURCE),
    var("WEBHOOK_SECRET", SHARED_SECRET),
    var("ONLY_ON_SOURCE", "source-only-value-77"),
]
TARGET = [
    var("API_KEY", SECRET_TARGET),
    var("WEBHOOK_SECRET", SHARED_SECRET),
    var("ONLY_ON_TARGET", "target-only-value-88"),
]
VALUES = [
    SECRET_SOURCE,
    SECRET_TARGET,
    SHARED_SECRET,
    "source-only-value-77",
    "target-only-value-88",
]


def test_keys_are_sorted_into_missing_differing_and_equal():
    drift = variables_drift(source=SOURCE, target=TARGET)
    assert drift == VariablesDrift(
        missing_in_target=("ONLY_ON_SOURCE",),
        missing_in_source=("ONLY_ON_TARGET",),
        differing=("API_KEY",),
        equal=("WEBHOOK_SECRET",),
    )
    assert drift.drift_count == 3
    assert not drift.is_empty
    assert [(r.key, r.drift) for r in drift.rows] == [
        ("API_KEY", Drift.DIFFERS),
        ("ONLY_ON_SOURCE", Drift.MISSING_IN_TARGET),
        ("ONLY_ON_TARGET", Drift.MISSING_IN_SOURCE),
        ("WEBHOOK_SECRET", Drift.EQUAL),
    ]


def test_the_same_variables_on_both_sides_are_no_drift():
    drift = variables_drift(source=SOURCE, target=list(reversed(SOURCE)))
    assert drift.is_empty
    assert drift.equal == ("API_KEY", "ONLY_ON_SOURCE", "WEBHOOK_SECRET")
    assert variables_drift(source=[], target=[]).is_empty


def test_no_secret_value_is_in_the_result_or_its_repr(caplog):
    caplog.set_level(logging.DEBUG)
    drift = variables_drift(source=SOURCE, target=TARGET)
    shown = repr(drift) + str(drift) + repr(drift.rows)
    for value in VALUES:
        assert value not in shown
        assert value not in caplog.text
    # Nor any fingerprint of one: the result holds keys and states only.
    for field in ("missing_in_target", "missing_in_source", "differing", "equal"):
        assert all(
            key in {"API_KEY", "WEBHOOK_SECRET", "ONLY_ON_SOURCE", "ONLY_ON_TARGET"}
            for key in getattr(drift, field)
        )


def test_values_are_compared_by_a_fingerprint_keyed_with_the_secret_key(settings):
    found = drift_module._fingerprints([var("API_KEY", SECRET_SOURCE)])["API_KEY"]
    assert found != hashlib.sha256(SECRET_SOURCE.encode()).hexdigest()  # keyed, not a bare hash
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert drift_module._fingerprints([var("API_KEY", SECRET_SOURCE)])["API_KEY"] != found
    # The key is part of the message: one value under two keys is not seen as reused.
    two = drift_module._fingerprints([var("A", SHARED_SECRET), var("B", SHARED_SECRET)])
    assert two["A"] != two["B"]


def test_the_summary_fragment_shows_keys_and_states_never_values():
    from deployments_app.services.build_diff import build_diff
    from tests.services.test_build_diff import BASE

    class Env:  # what the fragment reads of an Environment
        def __init__(self, name: str) -> None:
            self.unique_name = name

    html = render_to_string(
        "fragments/build_diff_summary.html",
        {
            "diff": build_diff(old=BASE, new=BASE),
            "drift": variables_drift(source=SOURCE, target=TARGET),
            "drift_source": Env("stage"),
            "drift_target": Env("production"),
        },
    )
    assert "Nothing changes." in html
    assert 'data-variable="API_KEY" data-drift="differs"' in html
    assert "missing on production" in html  # ONLY_ON_SOURCE
    assert "missing on stage" in html  # ONLY_ON_TARGET
    for value in VALUES:
        assert value not in html


@pytest.mark.django_db
def test_secret_values_reach_neither_the_compare_page_nor_the_logs(
    upstream, client, django_user_model, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, the client's request lines included
    user = django_user_model.objects.create_user("rita", password="pw-rita-drift")
    user.groups.add(Group.objects.get_or_create(name="Release manager")[0])
    client.force_login(user)
    store = upstream.store
    service = store.service("ivr-flows")
    stage = store.environment_named(service.sid, "stage")
    production = store.environment_named(service.sid, "production")
    store.create_variable(stage.sid, key="STRIPE_KEY", value=SECRET_SOURCE)
    store.create_variable(production.sid, key="STRIPE_KEY", value=SECRET_TARGET)
    store.create_variable(stage.sid, key="NEW_SECRET", value="source-only-value-77")
    # The seed's own values too, those long enough not to occur by chance ("8", "info").
    seeded = [
        v.value for e in (stage, production) for v in store.variables(e.sid) if len(v.value) > 10
    ]
    assert seeded
    url = (
        f"/services/{service.sid}/compare/?head={stage.build_sid}"
        f"&environment={production.sid}&source={stage.sid}"
    )
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-variable="STRIPE_KEY" data-drift="differs"' in body
    assert 'data-variable="NEW_SECRET" data-drift="missing_in_target"' in body
    assert "missing on production" in body
    for value in [SECRET_SOURCE, SECRET_TARGET, "source-only-value-77", *seeded]:
        assert value not in body
        assert value not in caplog.text

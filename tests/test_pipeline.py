from __future__ import annotations

from dataclasses import dataclass

import pytest

from deployments_app.pipeline import pipeline_order


@dataclass(frozen=True)
class Env:
    unique_name: str | None
    domain_suffix: str | None


def names(envs):
    return [e.unique_name for e in envs]


def test_default_order_is_dev_stage_production_whatever_the_upstream_order():
    envs = [Env("production", None), Env("dev", "dev"), Env("stage", "stage")]
    assert names(pipeline_order(envs)) == ["dev", "stage", "production"]


@pytest.mark.parametrize(
    ("env", "before", "after"),
    [
        (Env("qa", "qa"), "dev", "staging-eu"),
        (Env("staging-eu", "staging-eu"), "qa", "prod"),
        (Env("my-live-site", "www"), "staging-eu", None),
    ],
)
def test_names_are_recognised_by_their_words(env, before, after):
    envs = [
        Env("prod", "prod"),
        Env("dev", "dev"),
        Env("qa", "qa"),
        Env("staging-eu", "staging-eu"),
        env,
    ]
    order = names(pipeline_order(list(dict.fromkeys(envs))))
    assert order.index(before) < order.index(env.unique_name)
    if after:
        assert order.index(env.unique_name) <= order.index(after)


def test_an_environment_without_domain_suffix_is_production_like():
    envs = [Env("blue", None), Env("dev", "dev")]
    assert names(pipeline_order(envs)) == ["dev", "blue"]


def test_admin_override_comes_first_then_the_guess():
    envs = [
        Env("dev", "dev"),
        Env("stage", "stage"),
        Env("production", None),
        Env("canary", "canary"),
    ]
    order = pipeline_order(envs, override=["stage", "dev"])
    assert names(order) == ["stage", "dev", "canary", "production"]

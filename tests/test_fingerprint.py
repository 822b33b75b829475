"""Fingerprints: a field added to a config since a result was recorded is no change while it is at its default."""

from __future__ import annotations

from dataclasses import dataclass, field

from cft.fingerprint import Fingerprint, config_defaults
from cft.generate import GenerateConfig
from cft.train.config import TrainConfig


@dataclass
class _Config:
    steps: int = 10
    policy: str = "system"
    tags: list = field(default_factory=lambda: ["a"])


def _now(**values):
    cfg = _Config(**values)
    return Fingerprint({"config": {"steps": cfg.steps, "policy": cfg.policy, "tags": cfg.tags}, "data": "d1"},
                       defaults={"config": config_defaults(_Config)})


def test_defaults_of_a_config_class_and_instance():
    assert config_defaults(_Config) == {"steps": 10, "policy": "system", "tags": ["a"]}
    assert config_defaults(_Config(steps=3)) == config_defaults(_Config)


def test_a_field_recorded_before_it_existed_is_no_change_at_its_default():
    old = Fingerprint({"config": {"steps": 10}, "data": "d1"})  # recorded before policy and tags existed
    assert _now().changes(old) == []
    assert _now(policy="none").changes(old) == ["config.policy: <absent> -> none"]
    assert _now(steps=20).changes(old) == ["config.steps: 10 -> 20"]


def test_real_differences_are_still_named():
    old = _now().parts
    assert _now(tags=["b"]).changes(Fingerprint(old)) == ['config.tags: ["a"] -> ["b"]']
    changed = Fingerprint({**_now().parts, "data": "d2"}, defaults=_now().defaults)
    assert changed.changes(Fingerprint(old)) == ["data: d1 -> d2"]
    # A field the code no longer has, recorded at a non-default value, is a change too.
    assert _now().changes(Fingerprint({"config": {**old["config"], "gone": 1}, "data": "d1"})) == \
        ["config.gone: 1 -> <absent>"]
    assert _now().changes(None) == ["no fingerprint was recorded for the existing result"]


def test_the_job_configs_have_json_defaults():
    for cls in (GenerateConfig, TrainConfig):
        defaults = config_defaults(cls)
        assert defaults and all(isinstance(k, str) for k in defaults)

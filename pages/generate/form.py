"""The Generate tab's form: its fields, the choices it offers, and form values -> a GenerateConfig."""

from __future__ import annotations

import json

from cft import models
from cft.errors import UserError
from cft.generate.config import DATASET_SOURCE_PREFIX, GenerateConfig
from cft.generate.pricing import load_prices

# The order of the form's fields (and of the launch endpoint's arguments, after the API key).
FORM_FIELDS = ("source", "n_questions", "seed", "student", "samples_per_question", "temperature", "top_p",
               "max_new_tokens", "batch_size", "dataset", "teacher", "base_url", "model", "teacher_temperature",
               "teacher_top_p", "concurrency", "timeout", "max_retries", "prices", "student_endpoint_url",
               "student_endpoint_model", "prompt_policy", "question_id")
DEFAULT_SOURCES = ("gsm8k_train", "math_train")


def source_choices() -> list[str]:
    """Training splits first, then the other benchmarks, then existing datasets as ``dataset:<name>``."""
    names = list(DEFAULT_SOURCES)
    try:
        from cft.data import benchmarks

        names += [b["name"] for b in benchmarks.list_benchmarks() if b["name"] not in names]
    except Exception:  # noqa: BLE001 - the registry is optional for the form; a typed name still works
        pass
    try:
        from cft.data.store import Store

        names += [f"{DATASET_SOURCE_PREFIX}{d['name']}" for d in Store().datasets()]
    except Exception:  # noqa: BLE001 - no store yet: no dataset sources
        pass
    return names


def student_choices() -> list[str]:
    try:
        return [m["label"] for m in models.list_models()]
    except Exception:  # noqa: BLE001 - a broken runs dir must not break the form
        return [models.EMBEDDED_LABEL]


def prices_text(table: dict | None = None) -> str:
    """The price table as JSON with one model per line: short enough to edit by hand."""
    table = load_prices() if table is None else table
    body = ",\n".join(f"  {json.dumps(name)}: {json.dumps(entry)}" for name, entry in table.items())
    return "{\n" + body + "\n}"


def parse_prices_text(text: str | None):
    """A price table typed as JSON; None when the text is empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"prices: line {exc.lineno}: not valid JSON ({exc.msg})") from None


def student_label(config: GenerateConfig) -> str:
    """The student dropdown's value for a config: the label of its adapter or model when listed, else the model as
    typed (a local directory or a Hub id)."""
    from pathlib import Path

    try:
        listed = models.list_models()
    except Exception:  # noqa: BLE001 - a broken runs dir must not break the form
        listed = []
    if config.student_adapter:
        want = str(Path(config.student_adapter).resolve())
        for m in listed:
            if m.get("adapter") and str(Path(m["adapter"]).resolve()) == want:
                return m["label"]
        return config.student_adapter
    for m in listed:
        if m["kind"] == "embedded" and config.student_model in (m["spec"], models.EMBEDDED, m["label"]):
            return m["label"]
    return config.student_model


def form_from_config(config: GenerateConfig) -> list:
    """The form's values (FORM_FIELDS order) that would launch ``config`` again: Load config and the page load."""
    endpoint = config.student_engine == "endpoint"
    values = {**{f: getattr(config, f) for f in FORM_FIELDS if hasattr(config, f)},
              "student": student_label(config),
              "prices": prices_text(config.prices) if config.prices else prices_text(),
              "student_endpoint_url": config.student_endpoint_url if endpoint else "",
              "student_endpoint_model": config.student_endpoint_model if endpoint else ""}
    return [values[f] for f in FORM_FIELDS]


def config_from_form(values: dict) -> GenerateConfig:
    """The form's values (by field name) as a validated config; the student dropdown names a model or an adapter."""
    values = dict(values)
    spec, adapter = models.resolve_label((values.pop("student", "") or "").strip() or models.EMBEDDED, typed_ok=True)
    prices = values.pop("prices", None)
    if isinstance(prices, str):
        prices = parse_prices_text(prices)
    values.update(student_model=spec or models.EMBEDDED, student_adapter=adapter, prices=prices)
    if (values.get("student_endpoint_url") or "").strip():  # a URL typed: the student runs on that server
        values.update(student_engine="endpoint", student_adapter=None,
                      student_endpoint_url=values["student_endpoint_url"].strip(),
                      student_endpoint_model=(values.get("student_endpoint_model") or "").strip())
    return GenerateConfig.from_dict(values, where="form").validate()

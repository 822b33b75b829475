"""The pieces the alpaca and messages shapes share: splitting the CFT user turn into question and solution, and
remembering exactly how a record framed them (and its extra fields) so export rebuilds it byte for byte."""

from __future__ import annotations

from cft.data.formats.result import BadRow
from cft.data.samples import Sample
from cft.prompts import cft_input, cft_user_message, split_cft_input

# Extra top-level fields of an alpaca/messages record that are also sample fields: imported into the sample and
# exported from it (so an edit to e.g. the reference answer shows up), when they are strings.
PASSTHROUGH_FIELDS = ("reference_answer", "reference_solution", "source", "student_model", "teacher")


def frame_of(raw: str, question: str, response: str) -> dict:
    """How ``raw`` wraps question and response, so export rebuilds it exactly: a named template or the text
    around them (``prefix + question + sep + response``), or, if neither reproduces it, the raw text itself."""
    if raw == cft_user_message(question, response):
        return {"template": "cft"}
    if raw == cft_input(question, response):
        return {"template": "input"}
    end = len(raw) - len(response)
    label = raw.find("Question:")
    if raw.endswith(response) and label >= 0:
        # The question starts right after the label and its whitespace (split_cft_input's rule); searching for
        # the question text instead could match inside the label ("Q") and break later edits.
        start = label + len("Question:")
        while start < end and raw[start].isspace() and not raw.startswith(question, start):
            start += 1
        prefix, sep = raw[:start], raw[start + len(question):end]
        if raw.startswith(question, start) and prefix + question + sep + response == raw:
            return {"template": "frame", "prefix": prefix, "sep": sep}
    return {"template": "raw", "raw": raw, "question": question, "response": response}


def unframe(frame: dict | None, question: str, response: str, default: str) -> str:
    template = (frame or {}).get("template", default)
    if template == "cft":
        return cft_user_message(question, response)
    if template == "input":
        return cft_input(question, response)
    if template == "frame":
        return frame["prefix"] + question + frame["sep"] + response
    if template == "raw" and frame["question"] == question and frame["response"] == response:
        return frame["raw"]
    # Edited since import (or a new sample): the canonical form.
    return cft_user_message(question, response) if default == "cft" else cft_input(question, response)


def split(text: str, field_name: str) -> tuple[str, str]:
    try:
        question, response = split_cft_input(text)
    except ValueError as exc:
        raise BadRow(field_name, f"{exc} (expected 'Question:\\n…\\n\\nSolution:\\n…')") from exc
    # Hand-made frames leave blank lines around the question; the frame kept in meta restores them on export.
    return question.strip(), response


def want_str(record: dict, name: str, *, required: bool = True) -> str | None:
    if name not in record or record[name] is None:
        if required:
            raise BadRow(name, "missing")
        return None
    value = record[name]
    if not isinstance(value, str):
        raise BadRow(name, f"wrong type: expected a string, got {type(value).__name__}")
    return value


def extras(record: dict, used: set[str], sample: Sample) -> dict:
    """Top-level fields the shape does not use: sample fields when they are strings, the rest kept verbatim."""
    extra = {}
    for name, value in record.items():
        if name in used:
            continue
        if name in PASSTHROUGH_FIELDS and isinstance(value, str):
            setattr(sample, name, value)
        else:
            extra[name] = value
    return extra


def with_extras(info: dict, built: dict, sample: Sample) -> dict:
    """Put the built fields and the kept extras back in the record's original field order."""
    extra = dict(info.get("extra") or {})
    for name in PASSTHROUGH_FIELDS:
        if name in (info.get("fields") or ()) and name not in extra:
            built[name] = getattr(sample, name)
    order = info.get("fields") or list(built)
    out = {}
    for name in order:
        if name in built:
            out[name] = built[name]
        elif name in extra:
            out[name] = extra[name]
    for name, value in {**built, **extra}.items():
        out.setdefault(name, value)
    return out


def keep_import(sample: Sample, record: dict, info: dict, used: set[str]) -> tuple[Sample, bool]:
    """Keep in ``sample.meta["import"]`` how the record was framed (``info``) and its other fields, so export rebuilds
    it. Returns the sample, and False: these shapes never set a status."""
    info["extra"] = extras(record, used, sample)
    sample.meta["import"] = info
    return sample, False


def imported_as(sample: Sample, shape: str) -> dict | None:
    """What a sample imported as ``shape`` kept about its record, or None (another shape, or a new sample)."""
    info = sample.meta.get("import") or {}
    return info if info.get("format") == shape else None

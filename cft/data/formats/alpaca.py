"""The alpaca shape ``{instruction, input, output}`` (WebInstruct-CFT): ``input`` is ``Question:\\n…\\n\\nSolution:\\n…``,
the CFT instruction is either ``instruction`` or the start of ``input``, ``output`` is the critique."""

from __future__ import annotations

from cft.data.formats.frame import frame_of, imported_as, keep_import, split, unframe, want_str, with_extras
from cft.data.samples import Sample
from cft.prompts import CFT_INSTRUCTION, cft_input


def read(record: dict) -> tuple[Sample, bool]:
    """A sample from one record, and whether the record set its status (never, in this shape)."""
    instruction = want_str(record, "instruction", required=False)
    text = want_str(record, "input", required=False) or ""
    output = want_str(record, "output")
    if not text.strip() and instruction:
        # Everything in the instruction (some exports put the whole prompt there).
        q, r = split(instruction, "instruction")
        framing, where = frame_of(instruction, q, r), "instruction"
    else:
        q, r = split(text, "input")
        framing, where = frame_of(text, q, r), "input"
    sample = Sample(question=q, response=r, critique=output)
    info = {"format": "alpaca", "fields": list(record), "frame": framing, "framed": where,
            "instruction": instruction}
    return keep_import(sample, record, info, {"instruction", "input", "output"})


def write(sample: Sample) -> dict:
    """The record for ``sample``: its imported framing with the current fields, else the canonical form."""
    info = imported_as(sample, "alpaca")
    if info is not None:
        framed = unframe(info.get("frame"), sample.question, sample.response, "input")
        if info.get("framed") == "instruction":
            built = {"instruction": framed, "input": "", "output": sample.critique}
        else:
            built = {"instruction": info.get("instruction"), "input": framed, "output": sample.critique}
        if "instruction" not in info.get("fields", ["instruction"]):
            built.pop("instruction")
        return with_extras(info, built, sample)
    return {"instruction": CFT_INSTRUCTION, "input": cft_input(sample.question, sample.response),
            "output": sample.critique}

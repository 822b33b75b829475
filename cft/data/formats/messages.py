"""The messages shape ``{messages: [user, assistant]}`` (One-Shot-CFT): the user turn is the CFT instruction,
question and solution, the assistant turn the critique. A system turn and other turns are kept as they are."""

from __future__ import annotations

from cft.data.formats.frame import frame_of, imported_as, keep_import, split, unframe, with_extras
from cft.data.formats.result import BadRow
from cft.data.samples import Sample
from cft.prompts import cft_user_message


def read(record: dict) -> tuple[Sample, bool]:
    """A sample from one record, and whether the record set its status (never, in this shape)."""
    if "messages" not in record:
        raise BadRow("messages", "missing")
    messages = record["messages"]
    if not isinstance(messages, list):
        raise BadRow("messages", f"wrong type: expected a list of {{role, content}}, got {type(messages).__name__}")
    user = assistant = None
    skeleton = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise BadRow(f"messages[{i}]", f"wrong type: expected an object, got {type(msg).__name__}")
        role, content = msg.get("role"), msg.get("content")
        if not isinstance(role, str):
            raise BadRow(f"messages[{i}].role", "missing" if role is None else "wrong type: expected a string")
        if not isinstance(content, str):
            raise BadRow(f"messages[{i}].content",
                          "missing" if content is None else f"wrong type: expected a string, got {type(content).__name__}")
        if role == "user" and user is None:
            user = i
            skeleton.append({**msg, "content": None})
        elif role == "assistant" and user is not None and assistant is None:
            assistant = i
            skeleton.append({**msg, "content": None})
        else:
            skeleton.append(msg)
    if user is None:
        raise BadRow("messages", "no user turn (expected the question and solution there)")
    q, r = split(messages[user]["content"], f"messages[{user}].content")
    critique = messages[assistant]["content"] if assistant is not None else ""
    sample = Sample(question=q, response=r, critique=critique)
    info = {"format": "messages", "fields": list(record), "frame": frame_of(messages[user]["content"], q, r),
            "messages": skeleton, "has_assistant": assistant is not None}
    return keep_import(sample, record, info, {"messages"})


def write(sample: Sample) -> dict:
    """The record for ``sample``: its imported turns with the current fields, else the canonical two turns."""
    info = imported_as(sample, "messages")
    if info is not None:
        user = unframe(info.get("frame"), sample.question, sample.response, "cft")
        messages, seen_user = [], False
        for msg in info.get("messages") or []:
            if msg.get("content") is None and msg.get("role") == "user" and not seen_user:
                messages.append({**msg, "content": user})
                seen_user = True
            elif msg.get("content") is None and msg.get("role") == "assistant":
                messages.append({**msg, "content": sample.critique})
            else:
                messages.append(msg)
        if not info.get("has_assistant") and sample.critique:
            messages.append({"role": "assistant", "content": sample.critique})
        return with_extras(info, {"messages": messages}, sample)
    return {"messages": [{"role": "user", "content": cft_user_message(sample.question, sample.response)},
                         {"role": "assistant", "content": sample.critique}]}

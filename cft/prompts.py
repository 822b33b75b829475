"""Every prompt string and template CFT Studio uses, in one place.

The strings are the exact ones from the CFT paper's code. Nothing else in the project spells a prompt out:
builders here return chat ``messages`` and :func:`render` passes them through the model's chat template.
"""

from __future__ import annotations

import re
from typing import Any

CFT_INSTRUCTION = "Please critique whether the following solution to the question is correct.\n\n"
CFT_INPUT_TEMPLATE = "Question:\n{question}\n\nSolution:\n{response}"

TEACHER_SYSTEM_PROMPT = (
    "You are a science expert. A student is trying to solve a question, please explain briefly whether his "
    "solution is correct or not. Finally, conclude your judgement with 'Conclusion: right/wrong [END]'."
)
TEACHER_TEMPERATURE = 0.3
TEACHER_TOP_P = 0.95

EVAL_SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."

Messages = list[dict[str, str]]


def cft_input(question: str, response: str) -> str:
    return CFT_INPUT_TEMPLATE.format(question=question, response=response)


def cft_user_message(question: str, response: str) -> str:
    """The user turn of a CFT example: the instruction, then ``Question:`` and ``Solution:``."""
    return CFT_INSTRUCTION + cft_input(question, response)


def cft_messages(question: str, response: str, critique: str | None = None) -> Messages:
    """CFT: learn P(critique | question, noisy response)."""
    messages = [{"role": "user", "content": cft_user_message(question, response)}]
    if critique is not None:
        messages.append({"role": "assistant", "content": critique})
    return messages


def sft_messages(question: str, solution: str | None = None) -> Messages:
    """SFT: learn P(solution | question)."""
    messages = [{"role": "user", "content": question}]
    if solution is not None:
        messages.append({"role": "assistant", "content": solution})
    return messages


def teacher_messages(question: str, response: str) -> Messages:
    """What the teacher model is sent to critique one response."""
    return [
        {"role": "system", "content": TEACHER_SYSTEM_PROMPT},
        {"role": "user", "content": cft_input(question, response)},
    ]


def eval_messages(question: str) -> Messages:
    """The paper's zero-shot evaluation prompt."""
    return [{"role": "system", "content": EVAL_SYSTEM_PROMPT}, {"role": "user", "content": question}]


def critic_messages(question: str, response: str) -> Messages:
    """A trained model used as a critic is asked exactly as it was trained."""
    return cft_messages(question, response)


def render(tokenizer: Any, messages: Messages, add_generation_prompt: bool = True) -> str:
    """Render ``messages`` through the tokenizer's chat template (plain text fallback when it has none)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    text = "".join(f"{m['role']}: {m['content']}\n" for m in messages)
    return text + ("assistant: " if add_generation_prompt else "")


_SOLUTION_SPLIT = re.compile(r"\n\s*Solution:[ \t]*\n")


def split_cft_input(text: str) -> tuple[str, str]:
    """Inverse of :func:`cft_user_message` / :func:`cft_input`: ``(question, response)``.

    The exact template round-trips losslessly; hand-made variants (extra blank lines) are accepted too.
    Raises ``ValueError`` naming what is missing, so an importer can report it with the line number.
    """
    body = text[len(CFT_INSTRUCTION):] if text.startswith(CFT_INSTRUCTION) else text.lstrip()
    if body.startswith("Question:\n"):
        body = body[len("Question:\n"):]
    elif body.startswith("Question:"):
        body = body[len("Question:"):].lstrip()
    else:
        raise ValueError("no 'Question:' section")
    exact = body.find("\n\nSolution:\n")
    if exact >= 0:
        question, response = body[:exact], body[exact + len("\n\nSolution:\n"):]
    else:
        match = _SOLUTION_SPLIT.search(body)
        if not match:
            raise ValueError("no 'Solution:' section")
        question, response = body[: match.start()], body[match.end():]
    if not question.strip():
        raise ValueError("empty question")
    return question, response

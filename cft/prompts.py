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
# How an SFT target states its final answer when its solution does not already end in a box: the form the grader
# reads first (cft.grading), so an SFT model learns to end with an answer it will be graded on.
FINAL_ANSWER_TEMPLATE = "The answer is \\boxed{{{answer}}}."

# The prompt policy: how a question is asked when the model is to *answer* it, at training (SFT targets) and at
# evaluation (and when a student samples responses). One policy holds for a whole comparison, so every mode and
# every model sees the same prompt at test time. CFT examples are always the paper's critique prompt.
PROMPT_POLICIES = {
    "system": "the evaluation system prompt (reason step by step, answer in \\boxed{}) at training and at evaluation",
    "paper": "as the paper's code: SFT trains on the bare question, evaluation adds the \\boxed{} system prompt",
    "none": "the bare question at training and at evaluation, no system prompt",
}
DEFAULT_PROMPT_POLICY = "system"

Messages = list[dict[str, str]]


def check_policy(policy: str, where: str = "prompt_policy") -> str:
    if policy not in PROMPT_POLICIES:
        from cft.errors import UserError

        raise UserError(f"{where}={policy!r}: expected one of {', '.join(PROMPT_POLICIES)}")
    return policy


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


def sft_messages(question: str, solution: str | None = None, policy: str = DEFAULT_PROMPT_POLICY) -> Messages:
    """SFT: learn P(solution | question), the question asked as the policy asks it at training time."""
    messages = _system(policy == "system") + [{"role": "user", "content": question}]
    if solution is not None:
        messages.append({"role": "assistant", "content": solution})
    return messages


def final_answer_line(answer: str) -> str:
    return FINAL_ANSWER_TEMPLATE.format(answer=answer)


def _system(on: bool) -> Messages:
    return [{"role": "system", "content": EVAL_SYSTEM_PROMPT}] if on else []


def teacher_messages(question: str, response: str) -> Messages:
    """What the teacher model is sent to critique one response."""
    return [
        {"role": "system", "content": TEACHER_SYSTEM_PROMPT},
        {"role": "user", "content": cft_input(question, response)},
    ]


def eval_messages(question: str, policy: str = DEFAULT_PROMPT_POLICY) -> Messages:
    """The zero-shot evaluation prompt: the paper's system prompt, unless the policy is ``none``."""
    return _system(policy != "none") + [{"role": "user", "content": question}]


def critic_messages(question: str, response: str) -> Messages:
    """A trained model used as a critic is asked exactly as it was trained."""
    return cft_messages(question, response)


# The step-level critic (ProcessBench's task, its steps numbered from 1 as the editor numbers them; 0: no mistake).
STEP_CRITIC_TEMPLATE = (
    "The following is a math question and a solution to it, split into numbered steps.\n\n"
    "Question:\n{question}\n\nSolution:\n{steps}\n\n"
    "Review the solution step by step. Once you find an error in a step, give the number of the earliest step "
    "that is wrong; if every step is correct, give 0. Put your final answer (the step number) in \\boxed{{}}."
)


def step_critic_messages(question: str, steps: list[str]) -> Messages:
    """A critic asked for the first wrong step of a solution given as numbered steps (cft.evaluate.steps)."""
    numbered = "\n\n".join(f"Step {i}: {step}" for i, step in enumerate(steps, start=1))
    return [{"role": "user", "content": STEP_CRITIC_TEMPLATE.format(question=question.strip(), steps=numbered)}]


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

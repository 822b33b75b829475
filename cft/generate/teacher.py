"""A teacher behind any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).

It sends the paper's teacher prompt (:func:`cft.prompts.teacher_messages`) through :class:`cft.chat_client.ChatClient`
(bounded concurrency, a per-request timeout, our own retries with exponential backoff and jitter on timeouts,
connection errors, 429, 5xx and malformed bodies), at the teacher's sampling settings, and totals tokens and cost.

The API key is taken from the caller or ``OPENAI_API_KEY`` and lives only in this process's memory, and is masked
(cft.redact) wherever text leaves it: never part of a config, a log line or an error message.
"""

from __future__ import annotations

import time
from typing import Awaitable, Callable, Iterable

# Re-exported: callers and tests name them through the teacher module.
from cft.chat_client import (SAMPLE_ERRORS, ChatClient, EndpointError, MalformedResponse, Reply, classify,  # noqa: F401
                             resolve_api_key, run_sync, status_code)
from cft.generate.pricing import Usage, price_for
from cft.prompts import TEACHER_TEMPERATURE, TEACHER_TOP_P, teacher_messages

TeacherReply = Reply


class TeacherError(EndpointError):
    """A teacher request that failed for good: after every retry, or at once for errors a retry cannot fix."""


class OpenAITeacher(ChatClient):
    what = "teacher"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 temperature: float = TEACHER_TEMPERATURE, top_p: float = TEACHER_TOP_P, max_tokens: int | None = 1024,
                 timeout: float = 120.0, max_retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0,
                 concurrency: int = 8, prices: dict | None = None):
        super().__init__(base_url, model, api_key=api_key, timeout=timeout, max_retries=max_retries, backoff=backoff,
                         max_backoff=max_backoff, concurrency=concurrency)
        self.temperature, self.top_p, self.max_tokens = temperature, top_p, max_tokens
        self.usage = Usage(price=price_for(model, prices))

    def _error(self, message: str, *, retryable: bool, attempts: int, per_sample: bool = False) -> TeacherError:
        return TeacherError(message, retryable=retryable, attempts=attempts, per_sample=per_sample)

    def _on_reply(self, reply: Reply) -> None:
        self.usage.add(reply.tokens_in, reply.tokens_out)

    def _params(self) -> dict:
        # The teacher samples (the paper's 0.3 / 0.95), so top_p is sent as given even at a low temperature.
        params = {"temperature": self.temperature, "top_p": self.top_p}
        if self.max_tokens:
            params["max_tokens"] = int(self.max_tokens)
        return params

    async def complete(self, messages, **params) -> Reply:
        """One chat completion at the teacher's settings, with retries; TeacherError when it fails for good."""
        return await super().complete(messages, **{**self._params(), **params})

    async def critique(self, question: str, response: str) -> Reply:
        return await self.complete(teacher_messages(question, response))

    async def critique_many(self, items: Iterable[tuple[object, str, str]],
                            on_result: Callable[[object, Reply | None, TeacherError | None], None]
                            | Callable[..., Awaitable[None]],
                            *, abort_after: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Critique ``(key, question, response)`` items, at most ``concurrency`` at a time (see complete_many)."""
        await self.complete_many([(key, teacher_messages(q, r), {}) for key, q, r in items], on_result,
                                 abort_after=abort_after, stop=stop)


def test_connection(base_url: str, model: str, api_key: str | None = None, timeout: float = 20.0) -> str:
    """One tiny request to the endpoint; a line saying what answered, or TeacherError saying why not."""

    async def probe() -> str:
        teacher = OpenAITeacher(base_url, model, api_key=api_key, timeout=timeout, max_retries=0, max_tokens=8)
        try:
            started = time.perf_counter()
            served = None
            try:
                served = [m.id async for m in teacher._client.models.list()]
            except Exception:  # noqa: BLE001 - some compatible servers have no /models; the completion decides
                pass
            reply = await teacher.complete([{"role": "user", "content": "Reply with the word OK."}])
            seconds = time.perf_counter() - started
        finally:
            await teacher.aclose()
        listed = f"; it serves {len(served)} model(s)" if served is not None else ""
        return (f"Connected to {base_url}{listed}. Model {model!r} answered {reply.text.strip()[:40]!r} in "
                f"{seconds:.1f} s ({reply.tokens_in} tokens in, {reply.tokens_out} out).")

    return run_sync(probe())

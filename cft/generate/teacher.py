"""A teacher behind any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).

It sends the paper's teacher prompt (:func:`cft.prompts.teacher_messages`) through the ``openai`` package's
``AsyncOpenAI`` with bounded concurrency, a per-request timeout and our own retries: exponential backoff with
jitter on timeouts, connection errors, 429 and 5xx, and on a malformed body. The client's built-in retries are
turned off (``max_retries=0``) so the attempts we count are the attempts made.

The API key is taken from the caller or ``OPENAI_API_KEY`` and lives only in this process's memory: it is never
part of a config, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Iterable

from cft import redact, urls
from cft.errors import UserError
from cft.generate.pricing import Usage, price_for
from cft.prompts import TEACHER_TEMPERATURE, TEACHER_TOP_P, teacher_messages

# A local server needs no key, but the openai client refuses to start without one.
_PLACEHOLDER_KEY = "not-needed"


# Refusals about the request itself (an over-long prompt, content the endpoint will not take): the sample is at
# fault, not the endpoint, so the job records the sample as failed and goes on.
SAMPLE_ERRORS = (400, 413, 422)


class TeacherError(UserError):
    """A request that failed for good: after every retry, or at once for errors a retry cannot fix (401, 404).
    ``per_sample``: the endpoint refused this request's content (SAMPLE_ERRORS), not the job's settings."""

    def __init__(self, message: str, *, retryable: bool, attempts: int, per_sample: bool = False):
        super().__init__(message)
        self.retryable = retryable
        self.attempts = attempts
        self.per_sample = per_sample


class MalformedResponse(Exception):
    """The server answered 2xx with something that is not a chat completion."""


@dataclass
class TeacherReply:
    text: str
    tokens_in: int
    tokens_out: int
    attempts: int
    finish_reason: str | None = None


def resolve_api_key(api_key: str | None = None) -> str:
    key = api_key or os.environ.get("OPENAI_API_KEY") or _PLACEHOLDER_KEY
    redact.register(key)  # from now on this process masks it wherever it shows up
    return key


def _retry_after(exc) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def status_code(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) if isinstance(getattr(exc, "status_code", None), int) else None


def classify(exc: BaseException) -> tuple[bool, str]:
    """``(retryable, short description)`` for an exception raised by one request."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, asyncio.TimeoutError, TimeoutError)):
        return True, "timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return True, f"connection error ({type(cause).__name__ if cause else 'no response'})"
    if isinstance(exc, openai.RateLimitError):
        return True, "429 rate limited"
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        retryable = code >= 500 or code in (408, 409)
        detail = ""
        try:
            # Redacted before it is cut: an endpoint may echo the key, and a cut key no longer looks like one.
            detail = redact.redact(exc.response.text)[:200]
        except Exception:  # noqa: BLE001 - the body is only decoration for the message
            pass
        return retryable, f"HTTP {code}" + (f": {detail}" if detail else "")
    if isinstance(exc, (MalformedResponse, json.JSONDecodeError, openai.APIResponseValidationError)):
        return True, f"malformed response ({redact.redact(str(exc))[:200]})"
    return False, f"{type(exc).__name__}: {redact.redact(str(exc))}"


def _parse_completion(resp) -> tuple[str, int, int, str | None]:
    """Text and usage out of a completion, or MalformedResponse: the client builds its models leniently."""
    if isinstance(resp, (str, bytes)):  # a 2xx body whose content type is not JSON comes back as text
        raise MalformedResponse(f"expected a JSON chat completion, got text {redact.redact(str(resp))[:80]!r}")
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedResponse("no 'choices' in the response")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if not isinstance(text, str):
        raise MalformedResponse("choices[0].message.content is missing")
    usage = getattr(resp, "usage", None)
    tokens_in = getattr(usage, "prompt_tokens", 0) or 0
    tokens_out = getattr(usage, "completion_tokens", 0) or 0
    if not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        tokens_in, tokens_out = 0, 0
    return text, tokens_in, tokens_out, getattr(choices[0], "finish_reason", None)


class OpenAITeacher:
    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 temperature: float = TEACHER_TEMPERATURE, top_p: float = TEACHER_TOP_P, max_tokens: int | None = 1024,
                 timeout: float = 120.0, max_retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0,
                 concurrency: int = 8, prices: dict | None = None):
        from openai import AsyncOpenAI

        if not base_url:
            raise UserError("teacher base_url: expected an OpenAI-compatible endpoint such as http://127.0.0.1:8080/v1")
        base_url = urls.check_base_url(base_url, "teacher base_url")  # demo mode: the operator's endpoints only
        if not model:
            raise UserError("teacher model: expected a model name the endpoint serves")
        if concurrency < 1:
            raise UserError(f"teacher concurrency: expected at least 1, got {concurrency}")
        self.base_url, self.model = base_url, model
        self.temperature, self.top_p, self.max_tokens = temperature, top_p, max_tokens
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.concurrency = int(concurrency)
        self.usage = Usage(price=price_for(model, prices))
        self._rng = random.Random()
        self._client = AsyncOpenAI(base_url=base_url, api_key=resolve_api_key(api_key), timeout=self.timeout,
                                   max_retries=0)

    async def aclose(self) -> None:
        await self._client.close()

    def _delay(self, attempt: int, exc: BaseException) -> float:
        # Full jitter around an exponential step: concurrent workers that failed together do not retry together.
        step = min(self.max_backoff, self.backoff * (2 ** attempt))
        delay = step * (0.5 + self._rng.random() / 2)
        hint = _retry_after(exc)
        if hint is not None:  # a 429's Retry-After is the server telling us when; respect it, within reason
            delay = max(delay, min(hint, self.max_backoff))
        return delay

    async def _once(self, messages) -> TeacherReply:
        kwargs = dict(model=self.model, messages=messages, temperature=self.temperature, top_p=self.top_p,
                      timeout=self.timeout)
        if self.max_tokens:
            kwargs["max_tokens"] = int(self.max_tokens)
        # wait_for is a second fence: a server that trickles bytes can keep httpx's read timeout from firing.
        resp = await asyncio.wait_for(self._client.chat.completions.create(**kwargs), self.timeout + 5)
        text, tin, tout, finish = _parse_completion(resp)
        return TeacherReply(text, tin, tout, 0, finish)

    async def complete(self, messages) -> TeacherReply:
        """One chat completion with retries; TeacherError when it fails for good."""
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                reply = await self._once(messages)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised as a clear TeacherError
                retryable, last = classify(exc)
                if not retryable:
                    raise TeacherError(f"teacher {self.model} at {self.base_url}: {last}", retryable=False,
                                       attempts=attempt + 1, per_sample=status_code(exc) in SAMPLE_ERRORS) from None
                if attempt < self.max_retries:
                    await asyncio.sleep(self._delay(attempt, exc))
                continue
            reply.attempts = attempt + 1
            self.usage.add(reply.tokens_in, reply.tokens_out)
            return reply
        raise TeacherError(f"teacher {self.model} at {self.base_url}: {last} (gave up after "
                           f"{self.max_retries + 1} attempts)", retryable=True, attempts=self.max_retries + 1)

    async def critique(self, question: str, response: str) -> TeacherReply:
        return await self.complete(teacher_messages(question, response))

    async def critique_many(self, items: Iterable[tuple[object, str, str]],
                            on_result: Callable[[object, TeacherReply | None, TeacherError | None], None]
                            | Callable[..., Awaitable[None]],
                            *, abort_after: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Critique ``(key, question, response)`` items, at most ``concurrency`` at a time.

        ``on_result(key, reply, error)`` runs as each one finishes (so a crash loses only what is in flight).
        A non-retryable error (bad key, unknown model) stops everything at once; ``abort_after`` failures in a
        row (default: max(3, concurrency)) stop it too, because the endpoint is evidently down. A refusal of one
        request's content (``error.per_sample``, e.g. a 400 for an over-long prompt) is that sample's failure
        only: the others go on, unless the first ``abort_after`` answers were all refusals (then the settings,
        not the samples, are at fault).
        """
        abort_after = abort_after or max(3, self.concurrency)
        sem = asyncio.Semaphore(self.concurrency)
        state = {"consecutive": 0, "fatal": None, "answered": 0, "refused": 0}

        async def one(key, question, response):
            async with sem:
                if state["fatal"] is not None or (stop and stop()):
                    return
                try:
                    reply, error = await self.critique(question, response), None
                except TeacherError as exc:
                    reply, error = None, exc
                result = on_result(key, reply, error)
                if asyncio.iscoroutine(result):
                    await result
                state["answered"] += 1
                if error is None:
                    state["consecutive"] = 0
                    return
                if error.per_sample:
                    state["refused"] += 1
                    if state["refused"] == state["answered"] >= abort_after:
                        state["fatal"] = TeacherError(f"{error} — the first {state['refused']} requests were all "
                                                      "refused: check the teacher settings", retryable=False,
                                                      attempts=error.attempts)
                    return
                state["consecutive"] += 1
                if not error.retryable:
                    state["fatal"] = error
                elif state["consecutive"] >= abort_after:
                    state["fatal"] = TeacherError(f"{error} — stopping after {state['consecutive']} failed samples "
                                                  "in a row; relaunch to continue", retryable=True,
                                                  attempts=error.attempts)

        tasks = [asyncio.ensure_future(one(*item)) for item in items]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        if state["fatal"] is not None:
            raise state["fatal"]


def run_sync(coro):
    """Run a coroutine from synchronous code (the job, the CLI, a Gradio handler thread)."""
    return asyncio.run(coro)


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

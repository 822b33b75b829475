"""One client for any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, Ollama), shared by the
teacher (cft.generate.teacher) and by endpoint inference (cft.engines: student sampling, evals, critic mode, the
arena).

Requests go through the ``openai`` package's ``AsyncOpenAI`` with bounded concurrency, a per-request timeout and
our own retries: exponential backoff with jitter on timeouts, connection errors, 429 and 5xx, and on a malformed
body. The client's built-in retries are turned off (``max_retries=0``) so the attempts we count are the attempts
made. The API key is taken from the caller or ``OPENAI_API_KEY`` and lives only in this process's memory: it is
never part of a config, a log line or an error message: it is registered with cft.redact, which masks it (and
anything shaped like a key) wherever text leaves the process. In demo mode a base URL must be one the operator
lists (cft.urls): a public server never reaches an internal address for a user.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Iterator

from cft import redact, urls
from cft.errors import UserError

# A local server needs no key, but the openai client refuses to start without one.
_PLACEHOLDER_KEY = "not-needed"


# Refusals about the request itself (an over-long prompt, content the endpoint will not take): the item is at
# fault, not the endpoint, so a job records that item as failed and goes on.
SAMPLE_ERRORS = (400, 413, 422)


class EndpointError(UserError):
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
class Reply:
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


def parse_completion(resp) -> tuple[str, int, int, str | None]:
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


def sampling(*, temperature: float, top_p: float, max_tokens: int | None, seed: int | None = None,
             extra: dict | None = None) -> dict:
    """Request fields for our sampling settings: greedy is temperature 0 (top_p then means nothing and is sent as
    1), ``extra`` goes in the body as it is (server options such as llama.cpp's ``repeat_penalty``)."""
    params: dict[str, Any] = {"temperature": float(temperature), "top_p": float(top_p) if temperature > 0 else 1.0}
    if max_tokens:
        params["max_tokens"] = int(max_tokens)
    if seed is not None:
        params["seed"] = int(seed)
    if extra:
        params["extra_body"] = dict(extra)
    return params


class ChatClient:
    """Chat completions against one endpoint and model, with retries; ``what`` names it in errors ("teacher")."""

    what = "endpoint"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 120.0,
                 max_retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0, concurrency: int = 8):
        from openai import AsyncOpenAI

        if not base_url:
            raise UserError(f"{self.what} base_url: expected an OpenAI-compatible endpoint such as http://127.0.0.1:8080/v1")
        base_url = urls.check_base_url(base_url, f"{self.what} base_url")  # demo mode: the operator's endpoints only
        if not model:
            raise UserError(f"{self.what} model: expected a model name the endpoint serves")
        if concurrency < 1:
            raise UserError(f"{self.what} concurrency: expected at least 1, got {concurrency}")
        self.base_url, self.model = base_url, model
        self.timeout, self.max_retries = float(timeout), int(max_retries)
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.concurrency = int(concurrency)
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

    def _error(self, message: str, *, retryable: bool, attempts: int, per_sample: bool = False) -> EndpointError:
        return EndpointError(message, retryable=retryable, attempts=attempts, per_sample=per_sample)

    def _on_reply(self, reply: Reply) -> None:
        """A hook for what a subclass counts per successful reply (the teacher's token cost)."""

    async def _once(self, messages, params: dict) -> Reply:
        # wait_for is a second fence: a server that trickles bytes can keep httpx's read timeout from firing.
        resp = await asyncio.wait_for(
            self._client.chat.completions.create(model=self.model, messages=messages, timeout=self.timeout, **params),
            self.timeout + 5)
        text, tin, tout, finish = parse_completion(resp)
        return Reply(text, tin, tout, 0, finish)

    async def complete(self, messages, **params) -> Reply:
        """One chat completion with retries; an EndpointError when it fails for good."""
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                reply = await self._once(messages, params)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below, re-raised as a clear EndpointError
                retryable, last = classify(exc)
                if not retryable:
                    raise self._error(f"{self.what} {self.model} at {self.base_url}: {last}", retryable=False,
                                      attempts=attempt + 1, per_sample=status_code(exc) in SAMPLE_ERRORS) from None
                if attempt < self.max_retries:
                    await asyncio.sleep(self._delay(attempt, exc))
                continue
            reply.attempts = attempt + 1
            self._on_reply(reply)
            return reply
        raise self._error(f"{self.what} {self.model} at {self.base_url}: {last} (gave up after "
                          f"{self.max_retries + 1} attempts)", retryable=True, attempts=self.max_retries + 1)

    async def complete_many(self, items: Iterable[tuple[object, list, dict]],
                            on_result: Callable[[object, Reply | None, EndpointError | None], None]
                            | Callable[..., Awaitable[None]],
                            *, abort_after: int | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Complete ``(key, messages, params)`` items, at most ``concurrency`` at a time.

        ``on_result(key, reply, error)`` runs as each one finishes (so a crash loses only what is in flight).
        A non-retryable error (bad key, unknown model) stops everything at once; ``abort_after`` failures in a
        row (default: max(3, concurrency)) stop it too, because the endpoint is evidently down. A refusal of one
        request's content (``error.per_sample``, e.g. a 400 for an over-long prompt) is that item's failure
        only: the others go on, unless the first ``abort_after`` answers were all refusals (then the settings,
        not the items, are at fault).
        """
        abort_after = abort_after or max(3, self.concurrency)
        sem = asyncio.Semaphore(self.concurrency)
        state: dict[str, Any] = {"consecutive": 0, "fatal": None, "answered": 0, "refused": 0}

        async def one(key, messages, params):
            async with sem:
                if state["fatal"] is not None or (stop and stop()):
                    return
                try:
                    reply, error = await self.complete(messages, **params), None
                except EndpointError as exc:
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
                        state["fatal"] = self._error(f"{error} — the first {state['refused']} requests were all "
                                                     f"refused: check the {self.what} settings", retryable=False,
                                                     attempts=error.attempts)
                    return
                state["consecutive"] += 1
                if not error.retryable:
                    state["fatal"] = error
                elif state["consecutive"] >= abort_after:
                    state["fatal"] = self._error(f"{error} — stopping after {state['consecutive']} failed samples "
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
    """Run a coroutine from synchronous code (a job, the CLI, a Gradio handler thread)."""
    return asyncio.run(coro)


def stream_text(base_url: str, model: str, messages: list, *, max_tokens: int, api_key: str | None = None,
                timeout: float = 120.0, extra: dict | None = None) -> Iterator[str]:
    """Greedy-stream one chat completion, yielding the whole answer so far after each piece (the arena's stepping).

    A plain generator over the synchronous client's stream: abandoning it closes the connection, so the server
    stops generating for a page that moved on.
    """
    from openai import OpenAI

    base_url = urls.check_base_url(base_url, "endpoint base_url")
    client = OpenAI(base_url=base_url, api_key=resolve_api_key(api_key), timeout=timeout, max_retries=2)
    text = ""
    try:
        stream = client.chat.completions.create(model=model, messages=messages, stream=True,
                                                **sampling(temperature=0.0, top_p=1.0, max_tokens=max_tokens, extra=extra))
        try:
            for chunk in stream:
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    text += delta
                    yield text
        finally:
            stream.close()
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line naming the endpoint
        _, why = classify(exc)
        raise EndpointError(f"endpoint {model} at {base_url}: {why}", retryable=False, attempts=1) from None
    finally:
        client.close()

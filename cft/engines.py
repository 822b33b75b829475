"""Where generations come from: the in-process engine (transformers' ``generate``, the default) or an
OpenAI-compatible server (vLLM, llama.cpp's server, SGLang, Ollama, a hosted API), for student sampling, evals,
critic mode and the arena.

An endpoint is sent the same chat messages the local path renders (cft.prompts), through the chat completions API,
so the server applies the model's own chat template; the same sampling settings (temperature, top_p, max_tokens,
a seed where the server takes one; greedy is temperature 0); and what comes back is graded exactly like a local
answer. Requests of a batch run concurrently, at most ``concurrency`` at a time, with the shared client's retries
(cft.chat_client).

A PEFT adapter is served as the server's LoRA module and named as the model: ``vllm serve BASE --enable-lora
--lora-modules cft-1=workspace/runs/cft-1/adapter`` then ``--endpoint-model cft-1``.

Servers differ in their default sampling extras: llama.cpp's server applies top_k 40, min_p 0.05 and a repeat
penalty of 1.1 unless told otherwise, which changes even greedy answers; ``extra`` is sent in the request body as
it is, e.g. ``{"repeat_penalty": 1.0, "top_k": 0, "min_p": 0}`` for llama.cpp, ``{"top_k": -1,
"repetition_penalty": 1.0}`` for vLLM (:data:`NEUTRAL_EXTRA` has these by server).
"""

from __future__ import annotations

from typing import Callable

from cft.errors import UserError

ENGINES = ("local", "endpoint")
DEFAULT_TIMEOUT = 600.0  # one long greedy answer from a busy server; the client retries past it
DEFAULT_RETRIES = 3
# Request extras that turn a server's own sampling defaults off, so it samples as transformers does here.
NEUTRAL_EXTRA = {
    "llama.cpp": {"repeat_penalty": 1.0, "top_k": 0, "min_p": 0.0},
    "vllm": {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
}


def check(engine: str, url: str, model: str, adapter: str | None, where: str) -> None:
    """Refuse an engine setting that cannot work, naming the field."""
    if engine not in ENGINES:
        raise UserError(f"{where} field engine={engine!r}: expected {' or '.join(ENGINES)}")
    if engine != "endpoint":
        return
    if not str(url).startswith(("http://", "https://")):
        raise UserError(f"{where} field endpoint_url={url!r}: expected an OpenAI-compatible base URL such as "
                        "http://127.0.0.1:8000/v1")
    from cft import urls

    urls.check_base_url(url, f"{where} field endpoint_url")  # demo mode: the operator's endpoints only
    if not model:
        raise UserError(f"{where} field endpoint_model: expected the model name the server serves")
    if adapter:
        raise UserError(f"{where} field adapter={adapter!r}: with an endpoint, serve the adapter as the server's LoRA "
                        "module (vLLM: --enable-lora --lora-modules NAME=PATH) and pass NAME as endpoint_model")


def endpoint_generate(url: str, model: str, conversations: list[list[dict]], *, max_new_tokens: int,
                      temperature: float = 0.0, top_p: float = 1.0, seeds: list[int | None] | None = None,
                      concurrency: int = 8, extra: dict | None = None, timeout: float = DEFAULT_TIMEOUT,
                      max_retries: int = DEFAULT_RETRIES, api_key: str | None = None,
                      token_counts: list | None = None, on_item: Callable[[int], None] | None = None) -> list[str]:
    """One reply per conversation, in order. Raises the first EndpointError once every request has finished (the
    batch is then not written, and a resumed job asks again). ``token_counts``, when given, receives the number
    of tokens the server says it generated for each reply (its ``usage.completion_tokens``), in order.
    ``on_item(i)``, when given, runs as each reply arrives (they finish one by one, in any order), so a progress
    bar moves per answer, not per batch."""
    from cft.chat_client import ChatClient, run_sync, sampling

    seeds = seeds if seeds is not None else [None] * len(conversations)
    out: list[str | None] = [None] * len(conversations)
    tokens: list[int | None] = [None] * len(conversations)
    errors: list = []

    def on_result(i, reply, error) -> None:
        if error is not None:
            errors.append(error)
        else:
            out[i], tokens[i] = reply.text, reply.tokens_out or None
            if on_item is not None:
                on_item(i)

    async def go() -> None:
        client = ChatClient(url, model, api_key=api_key, timeout=timeout, max_retries=max_retries,
                            concurrency=max(1, int(concurrency)))
        try:
            items = [(i, messages, sampling(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens,
                                            seed=seeds[i], extra=extra)) for i, messages in enumerate(conversations)]
            await client.complete_many(items, on_result, abort_after=len(items) + 1)
        finally:
            await client.aclose()

    run_sync(go())
    if errors:
        raise errors[0]
    if token_counts is not None:
        token_counts[:] = tokens
    return out  # type: ignore[return-value]


def local_generate(model, tokenizer, conversations: list[list[dict]], **kwargs) -> list[str]:
    """The in-process path: render each conversation through the tokenizer's chat template, batch-generate."""
    from cft.models import generate
    from cft.prompts import render

    return generate(model, tokenizer, [render(tokenizer, messages) for messages in conversations], **kwargs)


GenerateFn = Callable[[list[list[dict]]], list[str]]

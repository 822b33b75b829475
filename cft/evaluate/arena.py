"""Answers of up to three models to one question, streamed side by side (arena style).

Side by side, FastChat-arena style: each model gets a token generator and the generators are stepped in turn
(one token per model per round), so the answers grow together and no model waits for another to finish. The
stepping is a plain greedy decode loop with the KV cache rather than ``model.generate`` in a thread: a Python
generator stops the moment the page abandons it (a new problem, a
closed tab), where a generate() thread would keep burning the two CPU cores to max_new_tokens. Greedy matches
the eval setting, so what you see is what the eval graded. A label ``endpoint:MODEL@URL`` streams from an
OpenAI-compatible server instead (one piece per step), with the same messages and greedy decoding.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Iterator

from cft import models
from cft.errors import UserError

MAX_MODELS = 3
# A model on an OpenAI-compatible server, typed as a label: ``endpoint:MODEL@http://host:port/v1``.
ENDPOINT_PREFIX = "endpoint:"


def parse_endpoint_label(label: str) -> tuple[str, str] | None:
    """``(url, model)`` of an ``endpoint:MODEL@URL`` label; None for any other label; an error for a broken one."""
    if not label.startswith(ENDPOINT_PREFIX):
        return None
    model, sep, url = label[len(ENDPOINT_PREFIX):].rpartition("@")
    if not sep or not model or not url.startswith(("http://", "https://")):
        raise UserError(f"model {label!r}: expected endpoint:MODEL@URL, e.g. endpoint:cft-1@http://127.0.0.1:8000/v1")
    return url, model


class ModelCache:
    """A small LRU of loaded (model, tokenizer): switching problems or re-running never reloads a model."""

    def __init__(self, size: int = MAX_MODELS):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.loads = 0  # how many real loads happened (the tests check the cache works)

    def get(self, spec: str | None, adapter: str | None):
        key = (spec, adapter)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            loaded = models.load_model(spec, adapter=adapter) if adapter else models.load_model(spec or "embedded")
            self.loads += 1
            self._items[key] = loaded
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return loaded

    def get_label(self, label: str):
        return self.get(*models.resolve_label(label))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = ModelCache()


def token_stream(model, tokenizer, prompt: str, *, max_new_tokens: int = 512) -> Iterator[str]:
    """Greedy-decode ``prompt`` one token per ``next()``, yielding the whole answer so far each time."""
    import torch

    device = next(model.parameters()).device
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    stops = set(models.stop_ids(tokenizer))
    past, new = None, []
    # inference_mode wraps each step only, never a yield: grad mode is thread-local, so a context held across a
    # yield would leak into the caller (and stay off forever if the page abandons the stream), breaking training.
    for _ in range(max_new_tokens):
        with torch.inference_mode():
            out = model(input_ids=ids, past_key_values=past, use_cache=True)
        past = out.past_key_values
        token = int(out.logits[0, -1].argmax())
        if token in stops:
            break
        new.append(token)
        ids = torch.tensor([[token]], device=device)
        yield tokenizer.decode(new, skip_special_tokens=True)


def round_robin(streams: list[Iterator[str]]) -> Iterator[tuple[list[str], list[bool]]]:
    """Step each stream once per round, in turn; yields (texts so far, finished flags) after every round."""
    texts = [""] * len(streams)
    finished = [False] * len(streams)
    while not all(finished):
        for i, stream in enumerate(streams):
            if finished[i]:
                continue
            try:
                texts[i] = next(stream)
            except StopIteration:
                finished[i] = True
        yield list(texts), list(finished)


def judge(reference: str, output: str) -> dict:
    """The extracted answer and whether it matches the reference (None: no reference to check against)."""
    from cft.grading import extract_answer, grade_one

    if not reference:
        return {"extracted": extract_answer(output), "correct": None, "timed_out": False}
    g = grade_one(str(reference), output)
    return {"extracted": g.extracted, "correct": bool(g.correct), "timed_out": bool(g.timed_out)}


def side_by_side(labels: list[str], question: str, reference: str = "", *, max_new_tokens: int = 512,
                 cache: ModelCache | None = None, min_interval: float = 0.1,
                 prompt_policy: str = "system") -> Iterator[dict]:
    """Stream the answers of up to three models to one question, stepped in turn.

    Yields ``{"labels", "answers", "finished", "results"}``: answers grow together; ``results`` (extracted answer
    and correctness per model) appears once each model is done. Updates are throttled to ``min_interval`` s.
    """
    from cft.prompts import eval_messages, render

    labels = [lab for lab in labels if lab][:MAX_MODELS]
    if not labels:
        raise UserError("models: pick at least one model")
    if not (question or "").strip():
        raise UserError("question: pick or type a problem first")
    cache = cache or CACHE
    streams = []
    for label in labels:
        endpoint = parse_endpoint_label(label)
        if endpoint is not None:  # the server streams the answer; the same messages, greedy, like the eval
            from cft.chat_client import stream_text

            streams.append(stream_text(*endpoint, eval_messages(question), max_tokens=int(max_new_tokens)))
            continue
        model, tokenizer = cache.get_label(label)
        streams.append(token_stream(model, tokenizer, render(tokenizer, eval_messages(question, prompt_policy)),
                                    max_new_tokens=int(max_new_tokens)))
    results: list[dict | None] = [None] * len(labels)
    last = 0.0
    for texts, finished in round_robin(streams):
        for i, done in enumerate(finished):
            if done and results[i] is None:
                results[i] = judge(reference, texts[i])
        now = time.monotonic()
        if now - last >= min_interval or all(finished):
            last = now
            yield {"labels": labels, "answers": list(texts), "finished": list(finished), "results": list(results)}

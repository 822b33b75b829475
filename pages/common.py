"""UI glue shared by the tabs: how a library error is shown, and the demo-mode notices."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import threading
import traceback
import uuid

import gradio as gr

from cft import demo, jobs, workspace
from cft.errors import UserError
from cft.redact import redact


log = logging.getLogger("cft.ui")


def _to_gradio(fn_name: str, exc: Exception) -> gr.Error:
    """What the user sees for an exception: a UserError's message (it names the bad input), redacted; anything
    else a generic message with a reference, its traceback (redacted) in the server's log, never on the page."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, UserError):
        return gr.Error(redact(str(exc)))
    ref = uuid.uuid4().hex[:8]
    trace = redact("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    log.error("unexpected error in %s (reference %s):\n%s", fn_name, ref, trace)
    return gr.Error(f"Something went wrong on the server (reference {ref}); the details are in its log.")


def user_errors(fn):
    """A UserError (which names the bad input) becomes a Gradio error toast, and a clear error for API clients;
    any other exception becomes a generic message with a reference, the traceback going to the log only. Works for
    plain, streaming (generator) and async handlers. Idempotent."""
    if getattr(fn, "_cft_guarded", False):
        return fn
    name = getattr(fn, "__name__", "handler")
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every exception is shown the safe way
                raise _to_gradio(name, exc) from None
    elif inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def call(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except Exception as exc:  # noqa: BLE001
                raise _to_gradio(name, exc) from None
    elif inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def call(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise _to_gradio(name, exc) from None
    else:
        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise _to_gradio(name, exc) from None
    call._cft_guarded = True  # type: ignore[attr-defined]
    return call


def guard_all(blocks: gr.Blocks) -> gr.Blocks:
    """Wrap every event handler of the app in :func:`user_errors`, also those wired without it (timers, refreshes),
    so no traceback or unredacted message ever reaches a page or an API client."""
    for block_fn in blocks.fns.values():
        if block_fn.fn is not None:
            block_fn.fn = user_errors(block_fn.fn)
    return blocks


def owner_of(request: gr.Request | None) -> str | None:
    """Who starts a job: the logged-in user, else the client's address (the first X-Forwarded-For hop behind a
    trusted proxy: a Space, or CFT_TRUST_PROXY=1)."""
    if request is None:
        return None
    if getattr(request, "username", None):
        return f"user:{request.username}"
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for", "") if hasattr(headers, "get") else ""
    if forwarded and (os.environ.get("SPACE_ID") or os.environ.get("CFT_TRUST_PROXY") == "1"):
        return f"address:{forwarded.split(',')[0].strip()}"
    client = getattr(request, "client", None)
    return f"address:{client.host}" if client is not None and getattr(client, "host", None) else None


_starting = threading.Lock()


@contextlib.contextmanager
def starting_job(request: gr.Request | None):
    """Around a handler's launch of a background job: on a public demo, refuse it past the visitor's and the
    Space's job quota (cft.demo.check_job_quota), checked and launched under one lock so two clicks cannot both
    pass; the job records who started it."""
    owner = owner_of(request)
    with _starting:
        demo.check_job_quota(owner)
        with jobs.launched_by(owner):
            yield


def bound(fn, *args):
    """``fn`` with its first arguments fixed (a tab's store, a status, a step), keeping the rest of its signature and
    its type hints: Gradio reads them to count the inputs and to pass ``gr.Request`` and ``gr.SelectData``
    (functools.partial would hide both)."""
    @functools.wraps(fn)
    def call(*rest, **kwargs):
        return fn(*args, *rest, **kwargs)

    signature = inspect.signature(fn)
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[len(args):])
    return call


def banner_markdown() -> str:
    """The demo banner: where annotations are kept and whether they survive a restart, and the training cap."""
    if not demo.is_demo():
        return ""
    where = f"`{workspace.home()}`"
    if demo.persistent():
        keep = f"Annotations are saved in {where} on this Space's persistent storage and survive restarts."
    else:
        keep = (
            f"Annotations are saved in {where}, which this Space **loses when it restarts** (no persistent storage). "
            "Export them before you leave."
        )
    return (
        "**Demo mode.** " + keep + f" Training is capped at {demo.DEMO_MAX_STEPS} steps of the CPU preset "
        f"(max length {demo.DEMO_MAX_LENGTH}); run CFT Studio locally for real runs."
    )


def train_cap_markdown() -> str:
    return (f"**Demo mode:** runs are capped at {demo.DEMO_MAX_STEPS} steps of the CPU preset (max length "
            f"{demo.DEMO_MAX_LENGTH}), whatever the fields below say; the GPU preset is off. Run CFT Studio locally to "
            "train for real.")

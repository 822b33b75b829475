"""UI glue shared by the tabs: how a library error is shown, and the demo-mode notices."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from cft import demo, workspace
from cft.errors import UserError


def user_errors(fn):
    """A UserError (which names the bad input) becomes a Gradio error toast, and a clear error for API clients,
    instead of a generic 'Error'. Works for plain and streaming (generator) handlers."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except UserError as exc:
                raise gr.Error(str(exc)) from exc
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            raise gr.Error(str(exc)) from exc
    return call


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

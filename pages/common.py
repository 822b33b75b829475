"""UI glue shared by the tabs (no logic: only how a library error is shown)."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

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

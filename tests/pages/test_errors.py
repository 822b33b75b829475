"""No traceback and no secret reaches a user: pages.common.user_errors (every event of the app goes through it)."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from cft.errors import UserError
from pages.common import user_errors

KEY = "sk-live-0123456789abcdefABCDEF"


def test_user_error_shows_its_message_redacted():
    @user_errors
    def bad():
        raise UserError(f"teacher said: invalid key {KEY}")

    with pytest.raises(gr.Error) as info:
        bad()
    assert "invalid key" in info.value.message and KEY not in info.value.message


@pytest.mark.parametrize("kind", ["plain", "generator", "async"])
def test_unexpected_errors_become_a_generic_message_and_a_redacted_log_line(kind, caplog):
    def boom():
        raise RuntimeError(f"internal detail {KEY} at /srv/secret/path")

    def gen():
        yield 1
        boom()

    async def coro():
        boom()

    fn = user_errors({"plain": boom, "generator": gen, "async": coro}[kind])
    with caplog.at_level(logging.ERROR, logger="cft.ui"), pytest.raises(gr.Error) as info:
        if kind == "generator":
            list(fn())
        elif kind == "async":
            import asyncio

            asyncio.run(fn())
        else:
            fn()
    message = info.value.message
    assert message.startswith("Something went wrong on the server (reference ") and "internal" not in message
    ref = message.split("reference ")[1][:8]
    logged = caplog.text
    assert ref in logged and "RuntimeError" in logged and "Traceback" in logged and KEY not in logged


def test_every_event_of_the_app_is_guarded():
    import app

    blocks = app.build_app()
    fns = [f.fn for f in blocks.fns.values() if f.fn is not None]
    assert len(fns) > 40 and all(getattr(fn, "_cft_guarded", False) for fn in fns)

"""CFT Studio: ``python app.py`` launches the research app on http://127.0.0.1:7860.

This file only assembles tabs from ``pages/``; every tab calls into the ``cft`` library.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from pathlib import Path
from urllib.parse import parse_qs

import gradio as gr
from starlette.middleware import Middleware

from cft import demo as demo_mode
from cft import redact
from cft.auth import LoginThrottle, gradio_auth
from cft.data.formats.validate import max_import_bytes
from cft.data.formats import export_all
from pages.common import banner_markdown, guard_all

ASSETS = Path(__file__).resolve().parent / "assets"
# (tab label, module under pages/). Order is the order of the research loop.
TABS = [
    ("Data", "data"),
    ("Generate", "generate"),
    ("Train", "train"),
    ("Compare", "compare"),
    ("About", "about"),
]


def build_app() -> gr.Blocks:
    with gr.Blocks(title="CFT Studio") as demo:
        gr.Markdown("# CFT Studio\nCritique Fine-Tuning: build, fix and train on critiques; compare CFT with SFT.")
        if demo_mode.is_demo():
            with gr.Row(elem_id="demo-banner"):
                gr.Markdown(banner_markdown())
                export = gr.DownloadButton("Export all annotations", size="sm", elem_id="demo-export")
            export.click(export_all, outputs=export, api_name="export_all")
        for label, module in TABS:
            with gr.Tab(label, id=module) as tab:
                parts = importlib.import_module(f"pages.{module}").build() or {}
            # Lists that other tabs change (datasets, runs, evals) are re-read on page load and whenever the tab is
            # shown, so nothing needs a reload after an import, a generation, a run or an eval.
            for fn, inputs, outputs in parts.get("on_show", []):
                for event in (demo.load, tab.select):
                    event(fn, inputs, outputs, show_progress="hidden", api_visibility="private")
            # What the page load alone fills (a form restored from the last job: a tab shown keeps what was typed).
            for fn, inputs, outputs in parts.get("on_load", []):
                demo.load(fn, inputs, outputs, show_progress="hidden", api_visibility="private")
    return guard_all(demo)


class LoginGuard:
    """ASGI middleware in front of Gradio's login route: Gradio's auth callable sees only the user name and the
    password, so the address and the back-off (cft.auth.LoginThrottle) are handled here. A locked-out attempt is
    answered 429 with Retry-After before the password is even checked."""

    def __init__(self, app, throttle: LoginThrottle):
        self.app, self.throttle = app, throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != "/login":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        user = (parse_qs(body.decode("utf-8", "replace")).get("username") or [""])[0].strip()
        address = client_address(scope)
        wait = self.throttle.retry_after(user, address)
        if wait > 0:
            payload = json.dumps({"detail": f"Too many failed logins: try again in {wait:.0f} s."}).encode()
            await send({"type": "http.response.start", "status": 429,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", str(int(wait) + 1).encode())]})
            return await send({"type": "http.response.body", "body": payload})
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message):
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(user, address)
                elif message["status"] in (400, 401, 403):
                    self.throttle.failed(user, address)
            await send(message)

        await self.app(scope, replay, watch)


def client_address(scope) -> str:
    """The client's address; behind a trusted proxy (a Space, or CFT_TRUST_PROXY=1) the first X-Forwarded-For hop."""
    if os.environ.get("SPACE_ID") or os.environ.get("CFT_TRUST_PROXY") == "1":
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-for" and value.strip():
                return value.decode("latin-1").split(",")[0].strip()
    return (scope.get("client") or ("unknown", 0))[0]


def launch_kwargs() -> dict:
    """Everything Gradio 6 takes at launch: css, js/head, theme. Shared by app.py and the UI tests."""
    css = (ASSETS / "style.css").read_text() if (ASSETS / "style.css").exists() else None
    head = "".join(f"<script>{p.read_text()}</script>" for p in sorted(ASSETS.glob("*.js")))
    # Uploads past the importer's own cap (50 MiB on a demo, CFT_MAX_IMPORT_MB) are refused while they arrive.
    kwargs = {"css": css, "head": head or None, "theme": gr.themes.Soft(), "max_file_size": max_import_bytes()}
    # Optional login (CFT_USERS / CFT_USERS_FILE): each annotator's saves are recorded under their name.
    auth = gradio_auth()
    if auth is not None:
        kwargs["auth"] = auth
        kwargs["app_kwargs"] = {"middleware": [Middleware(LoginGuard, throttle=LoginThrottle())]}
    return kwargs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true")
    args = parser.parse_args()
    redact.guard_output()  # before Gradio and uvicorn create their log handlers on these streams
    demo_mode.ensure_assets()
    build_app().queue().launch(server_name=args.host, server_port=args.port, share=args.share, **launch_kwargs())


if __name__ == "__main__":
    main()

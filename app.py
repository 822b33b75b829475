"""CFT Studio: ``python app.py`` launches the research app on http://127.0.0.1:7860.

This file only assembles tabs from ``pages/``; every tab calls into the ``cft`` library.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path

import gradio as gr

from cft import demo as demo_mode
from cft import redact
from cft.auth import gradio_auth
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
            with gr.Tab(label, id=module):
                importlib.import_module(f"pages.{module}").build()
    return guard_all(demo)


def launch_kwargs() -> dict:
    """Everything Gradio 6 takes at launch: css, js/head, theme. Shared by app.py and the UI tests."""
    css = (ASSETS / "style.css").read_text() if (ASSETS / "style.css").exists() else None
    head = "".join(f"<script>{p.read_text()}</script>" for p in sorted(ASSETS.glob("*.js")))
    kwargs = {"css": css, "head": head or None, "theme": gr.themes.Soft()}
    # Optional login (CFT_USERS / CFT_USERS_FILE): each annotator's saves are recorded under their name.
    auth = gradio_auth()
    if auth is not None:
        kwargs["auth"] = auth
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

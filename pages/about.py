"""About / workspace tab: what is installed and where the workspace is."""

import gradio as gr

from cft import system


def build() -> None:
    info = gr.Markdown(system.report_markdown(), elem_id="about-info")
    gr.Button("Refresh", size="sm").click(system.report_markdown, outputs=info)

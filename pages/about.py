"""About / workspace tab: what is installed and where the workspace is."""

from __future__ import annotations

import gradio as gr

from cft import system


def report_markdown() -> str:
    """cft.system.report() as the tab shows it: versions, the workspace, the offline assets."""
    info = system.report()
    lines = [
        f"**CFT Studio** {info['cft_studio']} · Python {info['python']} · {info['accelerator']}",
        "",
        f"- Workspace: `{info['workspace']}` (set `CFT_HOME` to move it)",
        f"- Sample database: `{info['database']}`",
        "",
        "| package | version |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info["packages"].items()],
        "",
        "| offline asset | file |",
        "|---|---|",
        *[f"| {k} | `{v}` |" for k, v in info["assets"].items()],
    ]
    return "\n".join(lines)


def build() -> None:
    info = gr.Markdown(report_markdown(), elem_id="about-info")
    gr.Button("Refresh", size="sm").click(report_markdown, outputs=info)

"""Compare tab: its rendering, then the real app through gradio_client.

The models are real: LoRA checkpoints of the tiny random model, trained to answer "7" (checkpoint-10) and then
"8" (checkpoint-20), installed as a run so that cft.models.list_models() offers them like any trained run
(the ``toy`` fixture).
"""

from __future__ import annotations

import json

from cft import jobs
from cft.evaluate.config import eval_dir
from pages.compare import view
from pages.render import inert_markdown

A, B = "run:cft-toy/checkpoint-10", "run:cft-toy/checkpoint-20"


def test_inert_markdown_keeps_math_and_kills_html():
    text = 'So $a < b$ and \\boxed{\\frac{1}{2}} <img src=x onerror="alert(1)"> <script>x()</script> &lt;b&gt;'
    out = inert_markdown(text)
    assert "<img" not in out and "<script" not in out and "&lt;img" in out
    assert "$a < b$" in out and "\\boxed{\\frac{1}{2}}" in out
    assert "&amp;lt;b&amp;gt;" in out  # an entity cannot smuggle a tag back in


# ------------------------------------------------------------------------------------------------- the app


def test_compare_tab_through_gradio_client(toy, cft_home):
    from gradio_client import Client

    from tests.helpers import launched_app

    with launched_app() as url:
        client = Client(url, verbose=False)
        bench, pid, question, reference = client.predict("gsm8k", api_name="/compare_random")
        assert bench == "gsm8k" and question and reference
        again = client.predict("gsm8k", pid, api_name="/compare_open_id")
        assert again[2] == question
        out = client.predict(A, B, "", "gsm8k", pid, "What is 3 + 4?", "7", 1, api_name="/compare_run")
        headers, answers, marks = out[0:3], out[3:6], out[6:9]
        assert A in headers[0] and B in headers[1]
        assert answers[0] == "7" and answers[1] == "8" and answers[2] == ""
        assert "`7`" in marks[0] and "✓" in marks[0]
        assert "`8`" in marks[1] and "✗" in marks[1]
        status = client.predict(api_name="/compare_vote_A_better")
        assert "Recorded" in status
        vote = json.loads((cft_home / "votes.jsonl").read_text().splitlines()[-1])
        assert vote["vote"] == "A better" and vote["models"] == {"A": A, "B": B}
        assert vote["problem"]["question"] == "What is 3 + 4?" and vote["problem"]["reference"] == "7"
        assert vote["problem"]["id"] == ""  # the question was typed over the picked one: not recorded as gsm8k's
        table, _, _ = client.predict(api_name="/compare_tables")
        names = [r[4] for r in table["data"]]
        assert "toy-checkpoint-10" in names and "toy-checkpoint-20" in names
        fixed, broke, note = client.predict("toy-checkpoint-20", "toy-checkpoint-10", api_name="/compare_diff")
        assert len(fixed["data"]) == 4 and "broke 0" in note
        # The same paired figures as ``python -m cft compare``: n, fixed/broke, the interval, McNemar.
        assert "**Paired comparison** (n = 4 shared)" in note and "fixed 4, broke 0" in note
        assert "McNemar p = 0.125" in note and "no significant difference" in note
        note = client.predict("toy-checkpoint-10", api_name="/compare_regrade")
        assert "Re-graded `toy-checkpoint-10` with grader" in note and "0 problem(s) changed" in note
        # An eval started from the tab runs as a background job and lands in the table.
        msg = client.predict(B, str(toy), 2, 1, 2, "from-ui", False, api_name="/compare_start_eval")
        assert "from-ui" in msg
        status = jobs.wait(eval_dir("from-ui"), timeout=300)
        assert status["state"] == "completed" and status["summary"]["n"] == 2
        assert "from-ui" in [r[0] for r in view.jobs_table()]
        table, _, _ = client.predict(api_name="/compare_tables")
        row = next(r for r in table["data"] if r[4] == "from-ui")
        assert row[0] == "cft-toy/checkpoint-20" and row[2].startswith("0.0% [") and row[3] == 2

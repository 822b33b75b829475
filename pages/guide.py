"""The first-run path: what each tab says while it is empty, and the "Load the sample data" button's callback.

A new user sees, on every empty tab, a short "what to do next"; once the tab has something to show, the hint goes.
The hints are re-read on page load and whenever a tab is shown (app.py), so they follow imports, runs and evals.
"""

from __future__ import annotations

import gradio as gr

from cft.data import review, sample_data
from cft.data.store import Store

DATA_EMPTY = ("**Welcome to CFT Studio.** There is no data yet. Press **Load the sample data** to start with real "
              "critiques, import a file (*Import / export*, below), or generate critiques in the **Generate** tab. "
              "Then select a row of the table, fix its critique and press **Submit**.")
GENERATE_EMPTY = ("**No generation job yet.** Pick a question source and a student model, keep the offline "
                  "*verifier* teacher (or point to an OpenAI-compatible one), name the target dataset and press "
                  "**Launch**: the new samples appear in the **Data** tab. To start quicker, load the sample data in "
                  "the **Data** tab.")
TRAIN_NO_DATA = ("**No dataset to train on yet.** Load the sample data in the **Data** tab (or import or generate "
                 "one), then come back here: pick it as the dataset, press **Preview examples and steps**, then "
                 "**Launch**.")
TRAIN_NO_RUN = ("**No run yet.** Pick a dataset, press **Preview examples and steps** to see the examples, the samples "
                "dropped as too long and the optimizer steps, then **Launch** a CFT + SFT pair. Its loss plots here "
                "live; stop it at any time.")
COMPARE_EMPTY = ("**Nothing trained to compare yet.** Launch a run in the **Train** tab: its adapter and checkpoints "
                 "join the model lists here when it has saved them. Meanwhile the base model answers: pick a "
                 "benchmark, press **Random**, then **Answer side by side**.")


def dataset_names() -> list[str]:
    try:
        return review.dataset_names(Store())
    except Exception:  # noqa: BLE001 - an unreadable store offers no choices; the Data tab says why
        return []


def data_hint() -> str:
    return "" if dataset_names() else DATA_EMPTY


def generate_hint() -> str:
    from cft.generate.job import list_jobs

    return "" if list_jobs() else GENERATE_EMPTY


def train_hint() -> str:
    from cft import workspace

    if not dataset_names():
        return TRAIN_NO_DATA
    return "" if any(p.is_dir() for p in workspace.runs_dir().iterdir()) else TRAIN_NO_RUN


def compare_hint() -> str:
    from cft.evaluate.selection import runs_with_checkpoints

    return "" if runs_with_checkpoints() else COMPARE_EMPTY


def dataset_choices(current: str | None):
    """A dataset dropdown re-read from the store: the current choice kept while it exists, else the first."""
    names = dataset_names()
    return gr.update(choices=names, value=current if current in names else (names[0] if names else None))


def hint_update(text: str):
    """A hint's Markdown: shown with its text, hidden when there is nothing to say."""
    return gr.update(value=text, visible=bool(text))


def first_run_view():
    """On page load and when the Data tab is shown: the welcome row only on a workspace without datasets."""
    text = data_hint()
    return hint_update(text), gr.update(visible=bool(text))


def load_sample_data():
    """The "Load the sample data" button: import it (cft.data.sample_data), select it, hide the welcome row."""
    store = Store()
    loaded = sample_data.load(store)
    added = f"Loaded **{loaded.added}** samples" if loaded.added else "The sample data was already loaded"
    message = (f"✅ {added} into `{loaded.dataset}` ({loaded.total} in all), from {loaded.source}.\n\n"
               "**Next:** select a row of the table, fix its critique and press **Submit** (Ctrl+Enter); then launch "
               "a CFT + SFT pair in the **Train** tab.")
    names = review.dataset_names(store)
    return message, gr.update(choices=names, value=loaded.dataset), gr.update(value="", visible=False), \
        gr.update(visible=False)

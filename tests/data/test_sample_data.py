"""The first-run sample data: the One-Shot CFT file only from inside an allowed root, else the offline procedural
set; loading twice adds nothing."""

from __future__ import annotations

from collections import Counter

from cft.data import sample_data
from cft.data.store import Store
from tests.conftest import ONE_SHOT


def test_the_one_shot_file_is_loaded_from_an_allowed_root_once():
    store = Store()
    first = sample_data.load(store)
    assert (first.dataset, first.added, first.total) == (sample_data.ONE_SHOT_DATASET, 600, 600)
    again = sample_data.load(store)
    assert (again.added, again.total) == (0, 600)


def test_outside_the_allowed_roots_the_file_is_never_read_and_the_procedural_set_is_built(monkeypatch, tmp_path):
    outside = tmp_path.parent.parent / "elsewhere.jsonl"  # not under the workspace nor CFT_ALLOWED_DIRS
    monkeypatch.setenv("CFT_ALLOWED_DIRS", "")
    monkeypatch.setenv(sample_data.SAMPLE_FILE_ENV, str(ONE_SHOT))
    assert ONE_SHOT.is_file() and sample_data.sample_file() is None
    monkeypatch.setenv(sample_data.SAMPLE_FILE_ENV, str(outside))
    assert sample_data.sample_file() is None
    store = Store()
    loaded = sample_data.load(store)
    assert loaded.dataset == sample_data.PROCEDURAL_DATASET and loaded.added == loaded.total == 60
    samples, _ = store.query(sample_data.PROCEDURAL_DATASET, limit=100)
    assert Counter(s.verdict for s in samples) == {"right": 30, "wrong": 30}
    wrong = next(s for s in samples if s.verdict == "wrong")
    assert wrong.critique.endswith("Conclusion: wrong [END]") and wrong.reference_answer not in wrong.response[-20:]
    assert sample_data.load(store).added == 0


def test_an_operator_path_inside_a_root_is_used(monkeypatch, cft_home):
    copy = cft_home / "mine.jsonl"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text("".join(ONE_SHOT.read_text().splitlines(keepends=True)[:5]))
    monkeypatch.setenv("CFT_ALLOWED_DIRS", "")
    monkeypatch.setenv(sample_data.SAMPLE_FILE_ENV, str(copy))
    assert sample_data.sample_file() == copy.resolve()
    assert sample_data.load(Store()).total == 5

"""``python -m cft agreement``: the Team review panel's numbers on the command line."""

from __future__ import annotations

import json

from cft.__main__ import main
from cft.data import agreement, team
from cft.data.samples import Sample
from cft.data.store import Store

T = "Fine.\n\nConclusion: right [END]"


def test_agreement_report_text_and_json(capsys):
    store = Store()
    ids = store.add_samples("d", [Sample(question=f"q{i}", response=f"so {i}", critique=T, original_critique=T,
                                         reference_answer=str(i), teacher="gpt", source="s") for i in range(6)])
    store.save_settings("d", expected_revision=0, by="lead", reviews_needed=2)
    plan = [("right", "right"), ("wrong", "wrong"), ("right", "wrong"), ("wrong", "wrong"), ("right", "right")]
    for sid, (a, b) in zip(ids, plan):
        store.submit_review(sid, annotator="ann", verdict=a, expected_revision=0)
        store.submit_review(sid, annotator="bob", verdict=b, expected_revision=0)
    assert main(["agreement", "--dataset", "d", "--json", "--resamples", "200"]) == 0
    out = json.loads(capsys.readouterr().out)
    kappa = agreement.kappa_summary(team.items(store, "d"), n_resamples=200)
    assert out["kappa"]["method"] == "cohen" and out["kappa"]["value"] == kappa.value
    assert out["progress"]["done"] == 10 and out["disagreements"] == [ids[2]]
    assert out["teacher_error"]["overall"]["n"] == 4 and out["teacher_error"]["overall"]["errors"] == 2
    assert main(["agreement", "--dataset", "d"]) == 0
    text = capsys.readouterr().out
    assert f"Cohen kappa {kappa.value:.3f}" in text and "teacher verdict wrong on 50.0%" in text
    store.add_samples("empty", [Sample(question="q")])
    assert main(["agreement", "--dataset", "empty", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kappa"]["value"] is None  # undefined: null, valid JSON
    assert main(["agreement", "--dataset", "nope"]) == 2
    assert "no dataset named 'nope'" in capsys.readouterr().err

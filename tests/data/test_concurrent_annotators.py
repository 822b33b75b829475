"""A team of annotators on one SQLite store: 8 processes x 50 revision-checked edits of the same sample, each edit
appending its own line to what its author last read. No edit may be lost (the final critique holds all 400 lines,
once each) and every refused save must have been reported as a conflict carrying the version that won."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from cft.data.samples import Sample
from cft.data.store import Store
from tests.helpers import ROOT

ANNOTATOR = r"""
import json, sys, time
from cft.data.store import ConflictError, Store

path, sid, me, edits, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
store = Store(path)
time.sleep(max(0.0, start - time.time()))  # all start together: the point is contention
done = conflicts = attempts = 0
deadline = time.time() + 240
while done < edits and time.time() < deadline:
    current = store.get(sid)
    attempts += 1
    try:
        store.update(sid, {"critique": current.critique + f"\n{me}-{done}"}, expected_revision=current.revision,
                     annotator=me)
        done += 1
    except ConflictError as exc:
        assert exc.current.revision > current.revision, "a conflict must carry the newer version"
        conflicts += 1
print(json.dumps({"me": me, "done": done, "conflicts": conflicts, "attempts": attempts}))
"""


def test_eight_annotators_fifty_edits_each_lose_nothing(cft_home):
    processes, edits = 8, 50
    store = Store()
    (sid,) = store.add_samples("team", [Sample(question="q", critique="start")])
    start = str(time.time() + 5)
    procs = [subprocess.Popen([sys.executable, "-c", ANNOTATOR, str(store.path), str(sid), f"a{i}", str(edits), start],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for i in range(processes)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        reports.append(json.loads(out))
    assert all(r["done"] == edits for r in reports), reports
    final = store.get(sid)
    lines = final.critique.split("\n")[1:]
    expected = {f"a{i}-{k}" for i in range(processes) for k in range(edits)}
    assert len(lines) == len(expected) and set(lines) == expected  # 0 lost, 0 duplicated
    for i in range(processes):  # each annotator's edits landed in the order they were made
        mine = [int(x.split("-")[1]) for x in lines if x.startswith(f"a{i}-")]
        assert mine == sorted(mine)
    assert final.revision == 1 + processes * edits
    history = [h for h in store.history(sid) if h["field"] == "critique"]
    assert len(history) == processes * edits  # every successful save recorded once, every refused one not at all
    conflicts = sum(r["conflicts"] for r in reports)
    assert sum(r["attempts"] for r in reports) == processes * edits + conflicts
    assert conflicts > 0  # they did collide
    print(f"\nannotators: {processes} processes x {edits} edits, 0 lost, {conflicts} conflicts reported")

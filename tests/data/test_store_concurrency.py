"""Concurrent annotators on both backends: 8 processes x 50 revision-checked edits of the same few samples.

Each edit appends a unique token to the critique it loaded. A lost update would drop a token that was reported
saved; a conflict that wrote anyway would leave a token that was reported refused. So the final critiques must
hold exactly the saved tokens, in revision order, and the history one row per saved edit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from cft.data.samples import Sample
from cft.data.store import Store
from tests.helpers import ROOT

WORKER = """
import json, random, sys, time
from cft.data.store import ConflictError, Store
url, ids, me, start = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
store = Store(url)
rng = random.Random(me)
time.sleep(max(0.0, start - time.time()))  # every process starts editing at the same moment
out = []
for n in range(50):
    sid = rng.choice(ids)
    current = store.get(sid)
    token = f"<{me}.{n}>"
    try:
        saved = store.update(sid, {"critique": current.critique + token}, expected_revision=current.revision,
                             annotator=me)
        out.append(["ok", sid, token, current.revision, saved.revision])
    except ConflictError as exc:
        out.append(["conflict", sid, token, current.revision, exc.current_revision])
print(json.dumps(out))
"""


def test_eight_annotator_processes_lose_no_update_and_every_conflict_is_reported(store_url):
    store = Store()
    ids = store.add_samples("d", [Sample(question=f"q{i}", critique="") for i in range(3)])
    start = time.time() + 4.0  # after every interpreter has imported the store
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, store_url, json.dumps(ids), f"a{i}", str(start)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(8)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results += json.loads(out)
    assert len(results) == 400
    saved = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "conflict"]
    assert len(saved) + len(refused) == 400 and refused, "8 processes on 3 samples must collide"
    for outcome, sid, token, loaded, now in refused:
        assert now > loaded  # refused because someone saved after this one loaded, and told so
    for sid in ids:
        mine = sorted((r for r in saved if r[1] == sid), key=lambda r: r[4])
        assert [r[4] for r in mine] == list(range(2, len(mine) + 2))  # each revision written exactly once
        assert all(r[4] == r[3] + 1 for r in mine)
        final = store.get(sid)
        assert final.critique == "".join(r[2] for r in mine)  # every saved token, in order; no refused one
        assert final.revision == len(mine) + 1
        assert [h["revision"] for h in store.history(sid) if h["field"] == "critique"] == [r[4] for r in mine]
    store.close()

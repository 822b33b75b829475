"""python -m cft db info | migrate on the default store (SQLite in the workspace); copy is tested with the store."""

from __future__ import annotations

import json

from cft.__main__ import main
from cft.data.samples import Sample
from cft.data.store import SCHEMA_VERSION, Store


def test_db_info_migrate_and_check(cft_home, capsys):
    assert main(["db", "info"]) == 0
    assert "schema version 0" in capsys.readouterr().out  # read without creating the schema
    assert main(["db", "migrate"]) == 0
    assert f"schema none -> {SCHEMA_VERSION}" in capsys.readouterr().out
    store = Store()
    store.add_samples("d", [Sample(question=f"q{i}", flags={"no_conclusion": "x"} if i else {}) for i in range(3)])
    assert main(["db", "info", "--check"]) == 0
    out = capsys.readouterr().out
    assert str(cft_home / "samples.db") in out and "1 dataset(s), 3 sample(s), 3 history row(s)" in out
    assert "check: integrity ok, counts match the rows" in out
    assert main(["db", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["backend"], info["samples"], info["hidden_parts"]) == ("sqlite", 3, [])
    store._db().execute("UPDATE sample_counts SET n = n + 1 WHERE flag = 'no_conclusion'")  # counts gone wrong
    assert main(["db", "info", "--check"]) == 1
    assert "problem: counts" in capsys.readouterr().out
    store.close()

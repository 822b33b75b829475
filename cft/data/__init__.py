"""Critique data: the sample, its store, import and export, automatic flags, and the benchmark question sets.

Modules: ``samples`` (Sample, verdict parsing), ``store/`` (the sample store on SQLite or PostgreSQL: dialects,
schema, migrations, keyset paging, queries, writes, imports, history and copy behind the ``Store`` facade), ``formats/`` (one reader and writer per record shape, the
containers, import and export), ``flags`` (where a teacher critique is most likely wrong), ``benchmarks`` (the
packaged math sets, custom JSONL, Hub ids), ``review`` (browse, save and restore samples as an annotator does).

May import: the cft core (errors, workspace, jobs, prompts, models, system, grading, arithmetic, config).
Imported by: cft.generate, cft.train, cft.evaluate, cft.reproduce, the CLI and pages/.
"""

"""CLI command groups: one module per group, each with ``register(subparsers)`` (see ``cft/__main__.py``).

``data`` (import, export, datasets, stats), ``agreement`` (a dataset's team review in numbers), ``generate``,
``train`` (train, runs), ``eval``, ``models`` (models, benchmarks), ``compare``, ``ablate`` and ``reproduce``.
Argument parsing and the text the CLI prints live here; the work is the library's.
May import: any cft package.
"""

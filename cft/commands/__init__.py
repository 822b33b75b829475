"""CLI command groups: one module per group, each with ``register(subparsers)`` (see ``cft/__main__.py``)."""

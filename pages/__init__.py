"""One module per tab. Each exposes ``build()`` (called inside a ``gr.Tab``) and only wires widgets to ``cft``."""

"""CFT Studio library: critique samples, store, formats, models, generation, training, evaluation.

Nothing in this package imports gradio; the UI lives in ``pages/`` and only calls into here.
"""

__version__ = "0.1.0"

"""CFT Studio library: critique data, generation, training, evaluation and the whole loop, for Critique Fine-Tuning.

The core modules at this level are shared by every package: errors, workspace (where everything is written),
config (the base of every job config), jobs (background jobs and their directories), prompts, models, grading,
arithmetic (with expression, its exact evaluator), auth, system and demo. The packages follow the data:

    data  <-  generate, train, evaluate  <-  reproduce  <-  commands (the CLI)

``data`` (samples, store, formats, flags, benchmarks, review) feeds ``generate`` (student responses and teacher
critiques), ``train`` (LoRA CFT and SFT runs) and ``evaluate`` (benchmarks, critic mode, checkpoint selection,
the arena); ``reproduce`` runs the whole loop. Imports only point down that chain (the core imports no package).
Nothing here imports gradio or builds HTML: the UI lives in ``pages/`` and only calls into here.
"""

__version__ = "0.1.0"

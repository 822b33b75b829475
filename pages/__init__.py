"""The UI: one package per tab (``build()`` lays out and wires; ``form``, ``handlers``, ``view`` beside it), plus
``render`` (the one sanitiser, math delimiters, progress bars), ``common`` (errors as toasts, demo notices) and
``about``. The only code that imports gradio or writes HTML. May import: cft and pages.
"""

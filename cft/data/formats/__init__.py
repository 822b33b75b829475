"""Import and export of critique samples.

Record shapes:
- **alpaca** ``{instruction, input, output}`` (WebInstruct-CFT): ``input`` is ``Question:\\n…\\n\\nSolution:\\n…``; the
  CFT instruction is either ``instruction`` or the start of ``input``; ``output`` is the critique.
- **messages** ``{messages: [user, assistant]}`` (One-Shot-CFT): the user turn is the CFT instruction + question +
  solution, the assistant turn the critique. A system turn is kept.
- **flat**: one column per field, renamed through a mapping (``{"question": "problem", ...}``).

Containers: JSONL, JSON (a list of records), CSV, Parquet, a ``datasets`` dataset saved on disk, a Hub id.

Import is all-or-nothing: every bad row is collected as a :class:`RowError` (line or row number, field, reason) and
:class:`ImportFailed` lists them; ``skip_bad=True`` keeps the good rows and returns the errors.

Round trips are lossless: what the store's columns do not hold (the exact instruction, how the user turn was framed
around the question and solution, a system turn, extra top-level fields and their order) goes into
``sample.meta["import"]``, and export rebuilds the record from it plus the sample's *current* fields, so edits show
up and untouched samples come back identical.

Modules: one per record shape (``alpaca``, ``messages``, ``flat``: ``read`` and ``write``), ``frame`` (what the
alpaca and messages shapes share), ``containers`` (file readers), ``validate`` (what a record must be, the file's
shape, the size cap), ``importer``, ``export`` and ``result`` (what an import returns or raises). May import: the cft core, cft.data.samples, flags and store.
"""

from cft.data.formats.containers import CONTAINERS
from cft.data.formats.export import EXPORT_FORMATS, export_all, export_filters, export_samples
from cft.data.formats.importer import SHAPES, import_file, import_hub, read_samples
from cft.data.formats.result import ImportFailed, ImportResult, RowError

__all__ = ["CONTAINERS", "EXPORT_FORMATS", "SHAPES", "ImportFailed", "ImportResult", "RowError", "export_all",
           "export_filters", "export_samples", "import_file", "import_hub", "read_samples"]

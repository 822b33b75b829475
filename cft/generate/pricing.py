"""Estimated teacher cost: an editable table of USD per million tokens.

The defaults are list prices at the time of writing and will drift: the user edits them in the Generate tab
(saved to ``workspace/prices.json``) or passes a table in the job config. A local server (llama.cpp, vLLM,
Ollama) costs nothing per token, so unknown models price at zero and the total says it is an estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cft import workspace
from cft.errors import UserError
from cft.jobs import write_json_atomic

# model name (or prefix) -> {"input": USD per 1M prompt tokens, "output": USD per 1M completion tokens}
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "o3-mini": {"input": 1.10, "output": 4.40},
    "o4-mini": {"input": 1.10, "output": 4.40},
}


def prices_path():
    return workspace.home() / "prices.json"


def validate_prices(table: dict) -> dict[str, dict[str, float]]:
    if not isinstance(table, dict):
        raise UserError("prices: expected a JSON object {model: {\"input\": USD per 1M, \"output\": USD per 1M}}")
    out: dict[str, dict[str, float]] = {}
    for model, entry in table.items():
        if not isinstance(entry, dict) or set(entry) - {"input", "output"}:
            raise UserError(f"prices[{model!r}]: expected {{\"input\": number, \"output\": number}}, got {entry!r}")
        try:
            out[str(model)] = {k: float(entry.get(k, 0.0)) for k in ("input", "output")}
        except (TypeError, ValueError):
            raise UserError(f"prices[{model!r}]: input and output must be numbers (USD per 1M tokens)") from None
        if min(out[str(model)].values()) < 0:
            raise UserError(f"prices[{model!r}]: prices cannot be negative")
    return out


def load_prices() -> dict[str, dict[str, float]]:
    """The defaults overlaid with the user's saved table."""
    table = dict(DEFAULT_PRICES)
    path = prices_path()
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
        table.update(validate_prices(saved))
    return table


def save_prices(table: dict) -> dict[str, dict[str, float]]:
    table = validate_prices(table)
    write_json_atomic(prices_path(), table)
    return table


def price_for(model: str, table: dict | None = None) -> dict[str, float] | None:
    """The exact entry, else the longest prefix (``gpt-4o-2024-08-06`` prices as ``gpt-4o``), else None."""
    table = load_prices() if table is None else table
    if model in table:
        return table[model]
    best = max((name for name in table if model.startswith(name)), key=len, default=None)
    return table[best] if best else None


@dataclass
class Usage:
    """Running token totals and their estimated cost."""

    tokens_in: int = 0
    tokens_out: int = 0
    requests: int = 0
    price: dict[str, float] | None = None

    def add(self, tokens_in: int, tokens_out: int) -> None:
        self.tokens_in += int(tokens_in or 0)
        self.tokens_out += int(tokens_out or 0)
        self.requests += 1

    @property
    def cost(self) -> float:
        if not self.price:
            return 0.0
        return (self.tokens_in * self.price["input"] + self.tokens_out * self.price["output"]) / 1e6

    def as_dict(self) -> dict:
        return {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "requests": self.requests,
                "cost": round(self.cost, 6), "priced": self.price is not None}

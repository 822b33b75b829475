"""The base every job config builds on: one dict/JSON round trip, field checks and type coercion.

A job config is a dataclass (TrainConfig, GenerateConfig, EvalConfig, SelectConfig, CriticConfig, ReproduceConfig)
that subclasses :class:`JobConfig`. The CLI, the UI and the tests build the same object, and it is saved as the job
directory's ``config.json``. Reading one back goes through :meth:`JobConfig.from_dict`, so every config refuses
unknown fields (a typo must not be silently ignored) and turns form and JSON values into its fields' types the same
way, naming the field when that is impossible.

No heavy imports here: the UI imports configs without torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, Field, asdict, fields
from typing import Any, ClassVar, TypeVar

from cft.errors import UserError

C = TypeVar("C", bound="JobConfig")


def check_fields(cls, data: dict, where: str) -> None:
    """Refuse keys of ``data`` that are not fields of the dataclass ``cls``, naming them and the valid ones
    (a typo in a config file must not be silently ignored)."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(unknown)}; expected some of {', '.join(sorted(names))}")


def _default(f: Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default  # type: ignore[misc]


def _coerce(f: Field, value: Any, where: str) -> Any:
    """Turn form and JSON values into the field's type, naming the field when that is impossible."""
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    optional = kind.endswith("| None")
    kind = kind.removesuffix("| None").strip()
    if optional and value is None:
        return None
    try:
        if kind == "bool":
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind == "int":
            if value is None or value == "":
                return _default(f)
            number = float(value)
            if number != int(number):
                raise ValueError("not a whole number")
            return int(number)
        if kind == "float":
            return _default(f) if value is None or value == "" else float(value)
        if kind.startswith("list"):
            if isinstance(value, str):
                return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]
            return [str(v) for v in value]
        if kind == "str":
            return "" if value is None else str(value)
        return value  # dicts and other structured fields are taken as they are
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: field {f.name}={value!r}: expected {kind} ({exc})") from None


def parse_json_object(text: str, where: str, what: str) -> dict:
    """The JSON object in ``text``; a clear error naming ``where`` (and the line) when it is not one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    except (ValueError, RecursionError) as exc:  # an integer past 4300 digits; nesting deeper than the parser goes
        raise UserError(f"{where}: not a usable JSON {what} ({type(exc).__name__}: {str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a JSON object of {what} fields")
    return data


def read_json_object(path: str | os.PathLike, what: str) -> dict:
    """The JSON object in the file ``path`` (a config file), or a clear error naming the file. The path goes through
    cft.paths like every path a user can name: a config outside the allowed roots reads like a missing one."""
    from cft import paths

    real = paths.resolve(path, what, kind="file")
    try:
        text = real.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc})") from exc
    return parse_json_object(text, str(path), what)


class JobConfig:
    """Base of a job's config dataclass: ``to_dict``/``from_dict``, JSON in and out, ``replace``, ``validate``.

    ``what`` names the config in error messages ("training config", "eval config", ...); a subclass sets it as a
    plain class attribute (not annotated, so it is not a field).
    """

    what: ClassVar[str] = "config"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], *, where: str | None = None) -> C:
        """Build the config from a dict (a config.json, a form, CLI flags), refusing unknown fields and coercing
        each value to its field's type."""
        where = where or cls.what
        check_fields(cls, data, where)
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{key: _coerce(known[key], value, where) for key, value in data.items()})

    @classmethod
    def from_json(cls: type[C], text_or_path: str | os.PathLike) -> C:
        """A validated config from JSON text or from a file holding it."""
        text = str(text_or_path)
        if text.lstrip().startswith("{"):
            data, where = parse_json_object(text, cls.what, cls.what), cls.what
        else:
            data, where = read_json_object(text, cls.what), text
        return cls.from_dict(data, where=where).validate()

    def replace(self: C, **changes: Any) -> C:
        return type(self).from_dict({**self.to_dict(), **changes})

    def validate(self: C) -> C:
        """Check the fields together; subclasses that have rules override this. Returns the config."""
        return self

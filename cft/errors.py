"""Errors meant for the user: their message names the input (file, line, field) and what was expected."""


class UserError(Exception):
    """Bad input or an impossible request. The CLI prints it and exits 2; the UI shows it as an error."""


class OfflineError(UserError):
    """Something needed the network (a Hub id) and the network is not there."""


def check_fields(cls, data: dict, where: str) -> None:
    """Refuse keys of ``data`` that are not fields of the dataclass ``cls``, naming them and the valid ones
    (a typo in a config file must not be silently ignored)."""
    from dataclasses import fields

    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(unknown)}; expected some of {', '.join(sorted(names))}")

"""Errors meant for the user: their message names the input (file, line, field) and what was expected."""


class UserError(Exception):
    """Bad input or an impossible request. The CLI prints it and exits 2; the UI shows it as an error."""


class OfflineError(UserError):
    """Something needed the network (a Hub id) and the network is not there."""


"""The one exception base the command line turns into a message and exit code 2, never a traceback."""


class UserError(Exception):
    """A mistake the user must fix (a usage error, a plugin conflict, a service setting)."""

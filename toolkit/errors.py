"""Domain exceptions shared by every part; the CLI turns them into one-line messages."""


class ToolkitError(Exception):
    """Base class: a failure the user can act on, reported without a traceback."""


class BadInput(ToolkitError, ValueError):
    """A value, file or line given by the user is invalid; the message names it."""

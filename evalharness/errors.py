"""The one exception type for mistakes a user can make (bad suite, missing dataset, rejected API key...).

The command line catches it once and prints its message as a single line with a non-zero exit code; any
other exception is a bug and keeps its traceback. Messages are written for the user: what is wrong, and how
to fix it. They must never contain an API key.
"""


class UserError(Exception):
    """A problem the user can fix; `str(err)` is the whole message shown to them."""

"""The one exception type for mistakes a user can make (bad audio, empty prompt, wrong shapes).

The UI turns it into ``gr.Error``, the CLI into one line on stderr and exit code 2.
"""


class InputError(ValueError):
    """Bad user input, with a message meant to be shown as is."""


class RenderError(RuntimeError):
    """The renderer failed; raised instead of writing blank frames."""

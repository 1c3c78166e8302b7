"""Errors that tools turn into one clear line instead of a traceback.

Every message names the file or key at fault, so a user can act on it without reading code."""


class MMSSLError(RuntimeError):
    """Base class: ``tools/*.py`` print ``error: <message>`` and exit with status 2."""


class DataError(MMSSLError):
    """A dataset path is missing, or a file in it cannot be read or decoded."""


class ConfigError(MMSSLError):
    """A config names an unknown type, or holds a value of the wrong kind."""


class CheckpointError(MMSSLError):
    """A checkpoint cannot be read, or does not match the model it is loaded into."""


class RepresentationCollapseError(MMSSLError):
    """Training stopped: the representation's effective rank stayed below the configured floor."""


class NonFiniteLossError(MMSSLError):
    """Training stopped: a loss term was NaN or inf (the message names the iteration and term)."""


class OutputError(MMSSLError):
    """A work dir or output file cannot be written: read-only, full disk, no permission."""


class WorkDirError(MMSSLError):
    """A work dir is in use by another run, or holds checkpoints a new run would overwrite."""

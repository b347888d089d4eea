"""User-facing errors: the CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input from the user (config, data file, run directory). Never a bug."""


class ConfigError(UserError):
    """An unknown key, a bad value or a broken `base:` chain in a YAML config."""


class DataError(UserError):
    """A missing, damaged or unverifiable MNIST file."""

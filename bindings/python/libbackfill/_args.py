"""Checking and converting the arguments the binding hands to C."""

import os


def path_arg(path):
    """A file system path (str, bytes or os.PathLike) as the bytes C takes."""
    data = os.fsencode(path)  # TypeError for anything else, like open()
    if b"\0" in data:
        raise ValueError("embedded null byte in path %r" % (path,))
    return data


def choice(what, value, allowed):
    """The position of `value` in `allowed` (names, in the C enum's order,
    or a dict of name to C value), or a ValueError naming the allowed values."""
    if isinstance(value, str) and value in allowed:
        return allowed[value] if isinstance(allowed, dict) else list(allowed).index(value)
    raise ValueError("%s must be one of %s; not %r"
                     % (what, ", ".join(repr(name) for name in allowed), value))

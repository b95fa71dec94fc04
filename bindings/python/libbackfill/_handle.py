"""The life cycle every handle class of the binding shares."""

import functools


class Handle:
    """An owned C handle: close() frees it once; also a context manager, and
    closed by the garbage collector as a last resort."""

    _free = None  # the C function that frees the handle
    _closed_by = None  # why, when closing another handle closed this one

    def __init__(self, handle):
        self._h = handle

    def _handle(self):
        if not self._h:
            raise ValueError("the %s is closed%s" % (
                type(self).__name__.lower(), " (%s)" % self._closed_by if self._closed_by else ""))
        return self._h

    def close(self):
        if self._h:
            type(self)._free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _locked(fn):
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        lock = self.__dict__.get("_lock")
        if lock is None:  # not yet made (a failed constructor)
            return fn(self, *args, **kwargs)
        with lock:
            return fn(self, *args, **kwargs)
    return call


def serialized(cls):
    """Class decorator: every method and property `cls` defines runs holding
    self._lock, so that threads sharing a handle take turns (the C handle is
    used by one thread at a time)."""
    for name, member in list(vars(cls).items()):
        if name.startswith("__") or isinstance(member, (staticmethod, classmethod)):
            continue
        if isinstance(member, property):
            setattr(cls, name, property(_locked(member.fget) if member.fget else None,
                                        _locked(member.fset) if member.fset else None,
                                        member.fdel, member.__doc__))
        elif callable(member):
            setattr(cls, name, _locked(member))
    return cls

"""The life cycle every handle class of the binding shares."""


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

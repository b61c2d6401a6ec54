# Headers: an ordered list of (name, value) str pairs with case-insensitive lookup.
# Included by _server.pyx.

cdef inline bint _same_name(str a, str b):
    """ASCII case-insensitive equality; field names are tokens, so ASCII is enough (a
    name outside Latin-1 never equals a token)."""
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(a)
    cdef const Py_UCS1* x
    cdef const Py_UCS1* y
    if n != PyUnicode_GET_LENGTH(b):
        return False
    if PyUnicode_KIND(a) != PyUnicode_1BYTE_KIND or PyUnicode_KIND(b) != PyUnicode_1BYTE_KIND:
        return a.lower() == b.lower()
    x = PyUnicode_1BYTE_DATA(a)
    y = PyUnicode_1BYTE_DATA(b)
    for i in range(n):
        if x[i] != y[i] and ((x[i] | 0x20) != (y[i] | 0x20)
                             or not 0x61 <= (x[i] | 0x20) <= 0x7a):
            return False
    return True


cdef class Headers:
    """HTTP header fields: ``(name, value)`` str pairs in order, names looked up without
    regard to case. ``h[name]`` is the first value (KeyError if none), ``h.get_all(name)``
    every value, ``h[name] = value`` replaces all, ``h.add(name, value)`` appends."""

    def __init__(self, items=()):
        self._items = []
        if hasattr(items, "items"):
            items = items.items()
        for name, value in items:
            self.add(name, value)

    def add(self, name, value):
        self._items.append((name if type(name) is str else str(name),
                            value if type(value) is str else str(value)))

    cdef object _find(self, str name, object default):
        for n, v in self._items:
            if _same_name(<str>n, name):
                return v
        return default

    def get(self, str name, default=None):
        return self._find(name, default)

    def get_all(self, str name):
        return [v for n, v in self._items if _same_name(<str>n, name)]

    def items(self):
        return list(self._items)

    def __getitem__(self, str name):
        value = self._find(name, None)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, str name, value):
        cdef list items = self._items
        if items:
            self._items = items = [(n, v) for n, v in items if not _same_name(<str>n, name)]
        items.append((name, value if type(value) is str else str(value)))

    def __delitem__(self, str name):
        kept = [(n, v) for n, v in self._items if not _same_name(<str>n, name)]
        if len(kept) == len(self._items):
            raise KeyError(name)
        self._items = kept

    def __contains__(self, name):
        return type(name) is str and self._find(<str>name, None) is not None

    def __iter__(self):
        return iter([n for n, _ in self._items])

    def __len__(self):
        return len(self._items)

    def __eq__(self, other):
        if isinstance(other, Headers):
            return self._items == (<Headers>other)._items
        return NotImplemented

    def __repr__(self):
        return f"Headers({self._items!r})"

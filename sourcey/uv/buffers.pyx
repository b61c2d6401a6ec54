# Buffers handed to libuv: exported with the buffer protocol (no copy), and held until
# libuv's callback says the write or send is done.

ctypedef struct BufferSet:
    Py_ssize_t n
    Py_buffer* views          # n views, in the same allocation


cdef BufferSet* _buffers_get(object data) except NULL:
    """Export ``data`` (one bytes-like object, or a list/tuple of them) without copying."""
    cdef BufferSet* bs
    cdef Py_ssize_t i, n
    cdef tuple items
    if PyObject_CheckBuffer(data):
        items = (data,)
    elif isinstance(data, (list, tuple)):
        items = tuple(data)
    else:
        raise TypeError("data must be a bytes-like object or a list of them, "
                        f"not {type(data).__name__}")
    n = len(items)
    bs = <BufferSet*>PyMem_RawMalloc(sizeof(BufferSet) + n * sizeof(Py_buffer))
    if bs == NULL:
        raise MemoryError()
    bs.n = 0
    bs.views = <Py_buffer*>(<char*>bs + sizeof(BufferSet))
    for i in range(n):
        try:
            PyObject_GetBuffer(items[i], &bs.views[i], PyBUF_SIMPLE)
        except BaseException:
            _buffers_free(bs)
            if not PyObject_CheckBuffer(items[i]):
                raise TypeError("data must be a bytes-like object or a list of them, "
                                f"not a list holding {type(items[i]).__name__}") from None
            raise
        bs.n = i + 1
    return bs


cdef void _buffers_free(BufferSet* bs) noexcept:
    cdef Py_ssize_t i
    if bs == NULL:
        return
    for i in range(bs.n):
        PyBuffer_Release(&bs.views[i])
    PyMem_RawFree(bs)


cdef Py_ssize_t _buffers_fill(BufferSet* bs, uv.uv_buf_t* bufs) noexcept:
    """Point bufs at the views; returns the total length."""
    cdef Py_ssize_t i, total = 0
    for i in range(bs.n):
        bufs[i].base = <char*>bs.views[i].buf
        bufs[i].len = <size_t>bs.views[i].len
        total += bs.views[i].len
    return total


cdef unsigned int _bufs_advance(uv.uv_buf_t** bufs, unsigned int nbufs, size_t written) noexcept:
    """Drop ``written`` bytes from the front of a buffer vector; returns buffers left."""
    while nbufs > 0 and written >= bufs[0][0].len:
        written -= bufs[0][0].len
        bufs[0] += 1
        nbufs -= 1
    if nbufs > 0 and written > 0:
        bufs[0][0].base += written
        bufs[0][0].len -= written
    return nbufs

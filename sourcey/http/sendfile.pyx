# Response.send_file: a file's bytes as the body, read on libuv's thread pool a chunk at
# a time, each chunk read only once the previous one has mostly left (the connection's
# output under its high-water mark), so a large file costs one chunk of memory and never
# blocks the loop on the disk. Included by _server.pyx.

import mimetypes
import os

cdef Py_ssize_t _FILE_CHUNK = 256 * 1024


cdef class _FileBody:
    cdef Response response
    cdef object fd
    cdef long long offset
    cdef long long left
    cdef object chunk              # the chunk read on the pool, or the exception raised
    cdef bint reading

    def _next(self):
        """Read the next chunk when the response may write and its output has room."""
        cdef Response response = self.response
        cdef _Session session = response._session
        if self.reading or self.fd is None:
            return
        if session.gone or response._done:
            return self._close()
        if not session.pending or session.pending[0] is not response:
            response._resume = self._next       # woken when it is its turn to write
            return
        if session._congested():
            session.waiter = self._next         # woken by a drain
            return
        if self.left <= 0:
            self._close()
            return response._end(b"", 0, None)
        self.reading = True
        session.loop.queue_work(self._read, self._read_done)

    def _read(self):                            # on the thread pool
        try:
            self.chunk = os.pread(self.fd, <Py_ssize_t>min(self.left, _FILE_CHUNK),
                                  self.offset)
        except OSError as exc:
            self.chunk = exc

    def _read_done(self, error):
        cdef Response response = self.response
        chunk = self.chunk
        self.chunk = None
        self.reading = False
        if error is not None or isinstance(chunk, BaseException) or not chunk:
            # the file shrank or failed under us: the client would wait for the rest
            _log.error("sourcey.http.Server: send_file failed after %d bytes: %s",
                       response._sent, chunk if error is None else error)
            self._close()
            if not response._done:
                response._abort()
            return
        self.offset += len(chunk)
        self.left -= len(chunk)
        response._body(PyBytes_AS_STRING(chunk), <size_t>PyBytes_GET_SIZE(chunk), chunk)
        if not response._session.corked:
            response._session._flush()
        self._next()

    def _close(self):
        cdef _Session session = self.response._session
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            session.files.discard(self)


cdef int _send_file(Response response, path, long long offset, object length,
                    object content_type) except -1:
    cdef _FileBody body
    cdef long long size
    if response._done or response._started:
        raise RuntimeError("the response has started")
    if offset < 0 or (length is not None and length < 0):
        raise ValueError("offset and length must not be negative")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not (st.st_mode & 0o170000) == 0o100000:
            raise IsADirectoryError(f"not a regular file: {path!r}")
        size = max(0, st.st_size - offset)
        if length is not None:
            size = min(size, <long long>length)
        headers = response.headers
        if "Content-Type" not in headers:
            guessed = content_type or mimetypes.guess_type(os.fspath(path))[0]
            headers["Content-Type"] = guessed or "application/octet-stream"
        response._start(<Py_ssize_t>size)
    except BaseException:
        os.close(fd)
        raise
    if response._nobody or size == 0:
        os.close(fd)
        return response._end(b"", 0, None)
    body = _FileBody.__new__(_FileBody)
    body.response = response
    body.fd = fd
    body.offset = offset
    body.left = size
    if response._session.files is None:
        response._session.files = set()
    response._session.files.add(body)
    body._next()
    return 0

/* Reusing a bytes object that nobody else can see.
 *
 * The read path delivers each read as a new bytes object. When the callback returns and
 * the object's only reference is ours, no Python code can observe it any more, so the
 * next read of the same length may fill it in place instead of paying for malloc+free
 * (reads above 1 KiB miss glibc's tcache, and that cost is most of the read path).
 * The cached hash must be reset, since the content changes. */
#ifndef SY_BYTES_H
#define SY_BYTES_H

#include <Python.h>
#include <string.h>

/* Fill a uniquely referenced bytes object of exactly len bytes; 0 on success, -1 if it
 * cannot be reused (shared, wrong size, or a singleton of length 0 or 1). */
static inline int sy_bytes_refill(PyObject* b, const char* data, Py_ssize_t len) {
    if (b == NULL || Py_REFCNT(b) != 1 || !PyBytes_CheckExact(b) || len < 2 ||
        PyBytes_GET_SIZE(b) != len)
        return -1;
    memcpy(PyBytes_AS_STRING(b), data, (size_t)len);
    _Py_COMP_DIAG_PUSH
    _Py_COMP_DIAG_IGNORE_DEPR_DECLS
    ((PyBytesObject*)b)->ob_shash = -1;
    _Py_COMP_DIAG_POP
    return 0;
}

#endif

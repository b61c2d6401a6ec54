# cython: language_level=3
"""Signal: LibSourcey's signal/slot type, the way every upper layer reports events.

    sig = Signal(loop)
    sid = sig.attach(on_recv, priority=5)   # or: sig += on_recv
    sig.emit(socket, data, peer)
    sig.detach(sid)                         # or the function; or: sig -= on_recv

Slots run in priority order, highest first, and in attach order among equals. A slot
that returns True stops the emit (the later slots are not called). A slot that raises
goes to the loop's excepthook and the rest still run.

Attaching or detaching during an emit is safe: the emit calls the slots that were
attached when it began, minus any detached since. A slot attached during an emit first
runs on the next emit.
"""

cimport cython

import sys
import traceback

from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE

from sourcey.uv._core cimport Loop


cdef extern from *:
    """
    /* args[-1] is writable scratch: the callee may use it to prepend self. */
    static inline PyObject* sy_vectorcall_raw(PyObject* fn, PyObject** args, Py_ssize_t n) {
        return PyObject_Vectorcall(fn, args, (size_t)n | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    /* Hands Cython the exception already set, as a function that failed. */
    static inline int sy_raised(void) { return -1; }
    static inline int sy_is_true(PyObject* o) { return o == Py_True; }
    """
    # A new reference, or NULL with an exception set (unchecked: _emitv reports it).
    PyObject* sy_vectorcall_raw(PyObject* fn, PyObject** args, Py_ssize_t nargs)
    int sy_raised() except -1
    bint sy_is_true(PyObject* o)      # ``o is True``


@cython.final
@cython.freelist(8)
cdef class _Slot:
    cdef object fn
    cdef int priority
    cdef Py_ssize_t id
    cdef bint alive


cdef class Signal:
    """Slots called in priority order by ``emit(*args)``; see the module docstring."""

    def __cinit__(self, Loop loop=None, str name=None):
        self._loop = loop
        self.name = name
        self._slots = ()
        self._next_id = 1

    @property
    def loop(self):
        return self._loop

    def attach(self, fn, int priority=0):
        """Attach a callable; returns its id, for ``detach``."""
        cdef _Slot slot
        cdef list slots
        cdef Py_ssize_t i
        if not callable(fn):
            raise TypeError(f"a slot must be callable, not {type(fn).__name__}")
        slot = _Slot.__new__(_Slot)
        slot.fn = fn
        slot.priority = priority
        slot.id = self._next_id
        slot.alive = True
        self._next_id += 1
        slots = list(self._slots)
        i = len(slots)
        while i > 0 and (<_Slot>slots[i - 1]).priority < priority:
            i -= 1
        slots.insert(i, slot)
        self._slots = tuple(slots)
        return slot.id

    def detach(self, fn_or_id):
        """Detach a slot by the id ``attach`` returned or by the callable (its first
        attachment); returns True if one was detached."""
        cdef _Slot slot
        cdef bint by_id = isinstance(fn_or_id, int) and not callable(fn_or_id)
        for slot in self._slots:
            if (slot.id == fn_or_id) if by_id else (slot.fn == fn_or_id):
                slot.alive = False
                self._slots = tuple(s for s in self._slots if s is not slot)
                return True
        return False

    def clear(self):
        """Detach every slot."""
        cdef _Slot slot
        for slot in self._slots:
            slot.alive = False
        self._slots = ()

    def __iadd__(self, fn):
        self.attach(fn)
        return self

    def __isub__(self, fn):
        self.detach(fn)
        return self

    def __len__(self):
        return len(self._slots)

    def __bool__(self):
        return True

    def __contains__(self, fn):
        cdef _Slot slot
        for slot in self._slots:
            if slot.fn == fn:
                return True
        return False

    @property
    def slots(self):
        """The attached callables, in the order emit calls them."""
        return [(<_Slot>s).fn for s in self._slots]

    def emit(self, *args):
        """Call every slot with ``args``; returns True if a slot stopped the emit."""
        return self._emit(args)

    def __call__(self, *args):
        return self._emit(args)

    cdef bint _emit(self, tuple args) except -1:
        cdef _Slot slot
        cdef tuple slots = self._slots
        for slot in slots:
            if not slot.alive:
                continue
            try:
                if slot.fn(*args) is True:
                    return True
            except BaseException as exc:
                self._report(exc)
        return False

    cdef bint _emit3(self, object a, object b, object c) except -1:
        """``_emit((a, b, c))`` without the tuple: each slot gets a vectorcall."""
        cdef PyObject* args[4]
        args[0] = NULL      # scratch for PY_VECTORCALL_ARGUMENTS_OFFSET
        args[1] = <PyObject*>a
        args[2] = <PyObject*>b
        args[3] = <PyObject*>c
        return self._emitv(&args[1], 3)

    cdef bint _emitv(self, PyObject** args, Py_ssize_t nargs) except -1:
        # The per-read emit: no try block per slot, a raising slot is rare.
        cdef tuple slots = self._slots
        cdef _Slot slot
        cdef PyObject* result
        cdef bint stop
        cdef Py_ssize_t i
        for i in range(PyTuple_GET_SIZE(slots)):
            slot = <_Slot>PyTuple_GET_ITEM(slots, i)
            if not slot.alive:
                continue
            result = sy_vectorcall_raw(<PyObject*>slot.fn, args, nargs)
            if result == NULL:
                self._report_raised()
                continue
            stop = sy_is_true(result)
            Py_DECREF(<object>result)
            if stop:
                return True
        return False

    cdef int _report_raised(self) except -1:
        """Report the exception a slot called by _emitv left set."""
        try:
            sy_raised()
        except BaseException as exc:
            self._report(exc)
        return 0

    cdef int _report(self, BaseException exc) except -1:
        # KeyboardInterrupt and SystemExit stop the loop like any callback's; without
        # a loop they propagate.
        if self._loop is not None:
            self._loop._handle_exception(exc)
            return 0
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        sys.stderr.write(f"Unhandled exception in a slot of {self!r}\n")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return 0

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"<Signal{label} with {len(self._slots)} slot(s)>"

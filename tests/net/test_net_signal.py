"""sourcey.Signal: attach/detach (ids, callables, += and -=), priority order, stopping
propagation, attaching and detaching during an emit (the rule of the module docstring),
exceptions in slots (excepthook, the other slots still run), KeyboardInterrupt stops
the loop."""

import gc
import weakref

import pytest

import sourcey
from sourcey import uv
from sourcey.signals import Signal


def test_signal_is_exported():
    assert sourcey.Signal is Signal


def recorder(calls, name, result=None):
    def slot(*args):
        calls.append((name, args))
        return result
    return slot


def test_attach_returns_ids_and_emit_passes_the_args(loop):
    sig = Signal(loop, "Recv")
    calls = []
    a, b = recorder(calls, "a"), recorder(calls, "b")
    ida = sig.attach(a)
    idb = sig.attach(b)
    assert isinstance(ida, int) and isinstance(idb, int) and ida != idb
    assert len(sig) == 2 and a in sig and b in sig
    assert sig.emit(1, "two", b"3") is False
    assert calls == [("a", (1, "two", b"3")), ("b", (1, "two", b"3"))]
    calls.clear()
    assert sig() is False           # calling the signal emits it
    assert calls == [("a", ()), ("b", ())]
    assert sig.loop is loop and sig.name == "Recv" and "Recv" in repr(sig)


def test_detach_by_id_by_callable_and_with_operators(loop):
    sig = Signal(loop)
    calls = []
    a, b, c = recorder(calls, "a"), recorder(calls, "b"), recorder(calls, "c")
    ida = sig.attach(a)
    sig.attach(b)
    sig += c
    assert sig.slots == [a, b, c]
    assert sig.detach(ida) is True
    assert sig.detach(ida) is False          # already gone
    assert sig.detach(b) is True
    assert sig.detach(b) is False
    sig -= c
    assert len(sig) == 0 and sig.slots == []
    assert sig.emit() is False and calls == []
    sig -= c                                 # detaching a stranger is harmless
    assert sig.detach(12345) is False
    assert bool(sig) is True                 # an empty signal is still truthy


def test_detach_by_callable_removes_its_first_attachment_only(loop):
    sig = Signal(loop)
    calls = []
    a = recorder(calls, "a")
    sig.attach(a)
    sig.attach(a)
    sig.detach(a)
    sig.emit()
    assert calls == [("a", ())]


def test_bound_methods_detach_by_equality(loop):
    class Obj:
        def __init__(self):
            self.n = 0

        def on(self):
            self.n += 1

    o = Obj()
    sig = Signal(loop)
    sig += o.on            # a fresh bound method object each time
    sig.emit()
    sig -= o.on
    sig.emit()
    assert o.n == 1 and len(sig) == 0


def test_priority_order_highest_first_then_attach_order(loop):
    sig = Signal(loop)
    calls = []
    for name, prio in [("low", -5), ("mid1", 0), ("high", 10), ("mid2", 0), ("top", 99),
                       ("mid3", 0)]:
        sig.attach(recorder(calls, name), priority=prio)
    sig.emit()
    assert [n for n, _ in calls] == ["top", "high", "mid1", "mid2", "mid3", "low"]


def test_a_slot_returning_true_stops_propagation(loop):
    sig = Signal(loop)
    calls = []
    sig.attach(recorder(calls, "first", result=None), priority=3)
    sig.attach(recorder(calls, "stopper", result=True), priority=2)
    sig.attach(recorder(calls, "never"), priority=1)
    assert sig.emit() is True
    assert [n for n, _ in calls] == ["first", "stopper"]


def test_only_true_stops_not_truthy_values(loop):
    sig = Signal(loop)
    calls = []
    sig.attach(recorder(calls, "one", result=1), priority=1)
    sig.attach(recorder(calls, "yes", result="yes"), priority=1)
    sig.attach(recorder(calls, "last"))
    assert sig.emit() is False
    assert [n for n, _ in calls] == ["one", "yes", "last"]


def test_attach_rejects_non_callables(loop):
    sig = Signal(loop)
    with pytest.raises(TypeError):
        sig.attach(42)
    with pytest.raises(TypeError):
        sig += "not callable"
    assert len(sig) == 0


# --- changing the slots during an emit ----------------------------------------------


def test_detaching_a_later_slot_during_emit_skips_it(loop):
    sig = Signal(loop)
    calls = []
    later = recorder(calls, "later")

    def detacher():
        calls.append(("detacher", ()))
        sig.detach(later)

    sig.attach(detacher, priority=1)
    sig.attach(later)
    sig.emit()
    assert [n for n, _ in calls] == ["detacher"]


def test_a_slot_detaching_itself_during_emit_runs_once(loop):
    sig = Signal(loop)
    calls = []

    def once():
        calls.append("once")
        sig.detach(once)

    sig += once
    sig += lambda: calls.append("other")
    sig.emit()
    sig.emit()
    assert calls == ["once", "other", "other"]


def test_a_slot_attached_during_emit_first_runs_on_the_next_emit(loop):
    sig = Signal(loop)
    calls = []
    late = recorder(calls, "late")

    def attacher():
        calls.append(("attacher", ()))
        if len(sig) < 3:
            sig.attach(late, priority=100)      # would run first, were it in this emit
            sig.attach(recorder(calls, "late_low"), priority=-100)

    sig.attach(attacher)
    sig.emit()
    assert [n for n, _ in calls] == ["attacher"]
    calls.clear()
    sig.emit()
    assert [n for n, _ in calls] == ["late", "attacher", "late_low"]


def test_detach_then_reattach_during_emit_does_not_run_in_this_emit(loop):
    sig = Signal(loop)
    calls = []
    target = recorder(calls, "target")

    def juggler():
        calls.append(("juggler", ()))
        sig.detach(target)
        sig.attach(target)

    sig.attach(juggler, priority=1)
    sig.attach(target)
    sig.emit()
    assert [n for n, _ in calls] == ["juggler"]


def test_clear_during_emit_stops_the_rest(loop):
    sig = Signal(loop)
    calls = []
    sig.attach(lambda: (calls.append("clearer"), sig.clear()), priority=1)
    sig.attach(lambda: calls.append("never"))
    sig.emit()
    assert calls == ["clearer"] and len(sig) == 0


def test_reentrant_emit(loop):
    sig = Signal(loop)
    calls = []

    def slot(depth):
        calls.append(depth)
        if depth < 3:
            sig.emit(depth + 1)

    sig += slot
    sig.emit(0)
    assert calls == [0, 1, 2, 3]


# --- exceptions in slots ------------------------------------------------------------


def test_an_exception_goes_to_excepthook_and_the_other_slots_still_run(loop):
    sig = Signal(loop)
    calls = []
    boom = ValueError("boom")

    def bad():
        raise boom

    sig.attach(recorder(calls, "before"), priority=1)
    sig.attach(bad)
    sig.attach(recorder(calls, "after"), priority=-1)
    assert sig.emit() is False
    assert [n for n, _ in calls] == ["before", "after"]
    assert loop.callback_errors == [boom]
    loop.callback_errors.clear()


def test_an_exception_in_a_slot_during_a_loop_callback(loop, runner):
    sig = Signal(loop)
    calls = []
    sig += lambda: 1 / 0
    sig += lambda: calls.append("ran")
    timer = uv.Timer(loop)
    timer.start(lambda t: (sig.emit(), t.close()), 0)
    loop.run()
    assert calls == ["ran"]
    assert len(loop.callback_errors) == 1
    assert isinstance(loop.callback_errors[0], ZeroDivisionError)
    loop.callback_errors.clear()


def test_keyboard_interrupt_in_a_slot_stops_the_loop(loop):
    sig = Signal(loop)
    ticks = []

    def interrupt():
        raise KeyboardInterrupt

    sig += interrupt

    def tick(t):
        ticks.append(1)
        if len(ticks) == 2:
            sig.emit()

    timer = uv.Timer(loop)
    timer.start(tick, 0.001, 0.001)         # repeating: only a stop ends the run
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert len(ticks) == 2
    assert loop.callback_errors == []       # not handed to excepthook
    timer.close()
    loop.run()


def test_without_a_loop_exceptions_are_printed_and_keyboard_interrupt_propagates(capsys):
    sig = Signal()
    calls = []
    sig += lambda: 1 / 0
    sig += lambda: calls.append("ran")
    sig.emit()
    assert calls == ["ran"]
    assert "ZeroDivisionError" in capsys.readouterr().err

    def interrupt():
        raise KeyboardInterrupt

    sig2 = Signal()
    sig2 += interrupt
    with pytest.raises(KeyboardInterrupt):
        sig2.emit()


def test_signal_holds_its_slots_and_nothing_else(loop):
    class Receiver:
        def on(self):
            pass

    r = Receiver()
    sig = Signal(loop)
    sig += r.on
    ref = weakref.ref(r)
    del r
    gc.collect()
    assert ref() is not None           # the bound method keeps it
    sig.clear()
    gc.collect()
    assert ref() is None
    sref = weakref.ref(sig)
    del sig
    assert sref() is None

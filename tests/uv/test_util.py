"""util: clocks, memory figures, load, uptime, CPUs and network interfaces."""

import os
import socket
import time

from sourcey import uv

util = uv.util


def test_hrtime_is_the_monotonic_clock_in_nanoseconds():
    before = time.monotonic_ns()
    now = util.hrtime()
    after = time.monotonic_ns()
    assert isinstance(now, int)
    assert before <= now <= after
    samples = [util.hrtime() for _ in range(1000)]
    assert samples == sorted(samples)


def test_hrtime_advances_with_a_timer(loop, runner):
    loop.update_time()                  # the timer counts from the loop's cached ms
    start = util.hrtime()
    fired = []
    timer = uv.Timer(loop)
    timer.start(lambda t: fired.append(util.hrtime()), 0.02)
    runner.run(loop)
    timer.close()
    runner.run(loop)
    assert fired and fired[0] - start >= 19_000_000     # 20 ms, less the ms rounding


def test_memory_figures():
    total = util.get_total_memory()
    free = util.get_free_memory()
    available = util.get_available_memory()
    constrained = util.get_constrained_memory()
    for value in (total, free, available, constrained):
        assert isinstance(value, int) and value >= 0
    assert total > 0 and 0 < free <= total
    assert available > 0
    # 0: no constraint known; 2**64 - 1: a mechanism without a limit set.
    assert constrained <= 2**64 - 1


def test_resident_set_memory_grows_with_allocation():
    before = util.resident_set_memory()
    assert isinstance(before, int) and before > 0
    block = b"r" * (64 << 20)             # written, so resident
    after = util.resident_set_memory()
    del block
    assert after - before > 32 << 20


def test_loadavg():
    avg = util.loadavg()
    assert isinstance(avg, tuple) and len(avg) == 3
    assert all(isinstance(v, float) and v >= 0 for v in avg)


def test_uptime():
    first = util.uptime()
    assert isinstance(first, float) and first > 0
    assert util.uptime() >= first


def test_cpu_info():
    cpus = util.cpu_info()
    assert isinstance(cpus, list) and len(cpus) >= 1
    for cpu in cpus:
        assert isinstance(cpu, util.CPUInfo)
        assert cpu._fields == ("model", "speed", "times")
        assert isinstance(cpu.model, str)
        assert isinstance(cpu.speed, int) and cpu.speed >= 0
        assert isinstance(cpu.times, util.CPUTimes)
        assert cpu.times._fields == ("sys", "user", "idle", "irq", "nice")
        assert all(isinstance(t, int) and t >= 0 for t in cpu.times)
    assert 1 <= util.available_parallelism()
    if hasattr(os, "sched_getaffinity"):
        assert util.available_parallelism() == len(os.sched_getaffinity(0))


def test_interface_addresses_contain_loopback():
    addresses = util.interface_addresses()
    assert isinstance(addresses, list) and addresses
    for ia in addresses:
        assert isinstance(ia, util.InterfaceAddress)
        assert ia._fields == ("name", "is_internal", "address", "netmask", "mac")
        assert isinstance(ia.name, str) and ia.name
        assert isinstance(ia.is_internal, bool)
        assert isinstance(ia.mac, str) and len(ia.mac.split(":")) == 6
    loopback = [ia for ia in addresses if ia.address == "127.0.0.1"]
    assert loopback, addresses
    assert loopback[0].is_internal
    assert loopback[0].netmask == "255.0.0.0"
    v6 = [ia for ia in addresses if ia.address == "::1"]
    if v6:
        assert v6[0].is_internal
        assert v6[0].netmask == "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
    for ia in addresses:
        family = socket.AF_INET6 if ":" in ia.address else socket.AF_INET
        socket.inet_pton(family, ia.address)         # a well-formed address
        socket.inet_pton(family, ia.netmask)


def test_pyuv_getrusage_and_guess_handle_type():
    usage = util.getrusage()
    assert usage.ru_utime >= 0 and usage.ru_maxrss > 0
    with socket.socket() as s:
        assert util.guess_handle_type(s.fileno()) == uv.UV_TCP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        assert util.guess_handle_type(s.fileno()) == uv.UV_UDP

"""System information from libuv, as ``pyuv.util``."""

from ._core import (
    CPUInfo,
    CPUTimes,
    InterfaceAddress,
    RUsage,
    available_parallelism,
    cpu_info,
    debug_counters,
    get_available_memory,
    get_constrained_memory,
    get_free_memory,
    get_total_memory,
    getrusage,
    guess_handle_type,
    hrtime,
    interface_addresses,
    loadavg,
    resident_set_memory,
    uptime,
)

__all__ = [
    "CPUInfo", "CPUTimes", "InterfaceAddress", "RUsage", "available_parallelism", "cpu_info",
    "debug_counters", "get_available_memory", "get_constrained_memory", "get_free_memory",
    "get_total_memory", "getrusage", "guess_handle_type", "hrtime", "interface_addresses",
    "loadavg", "resident_set_memory", "uptime",
]

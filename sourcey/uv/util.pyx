# System information, as pyuv.util gives it.

InterfaceAddress = collections.namedtuple(
    "InterfaceAddress", "name is_internal address netmask mac")
CPUInfo = collections.namedtuple("CPUInfo", "model speed times")
CPUTimes = collections.namedtuple("CPUTimes", "sys user idle irq nice")


def hrtime():
    """A monotonic clock in nanoseconds."""
    return uv.uv_hrtime()


def get_free_memory():
    return uv.uv_get_free_memory()


def get_total_memory():
    return uv.uv_get_total_memory()


def get_constrained_memory():
    """The memory limit of the process's cgroup: 0 if libuv knows no limit mechanism,
    2**64-1 if there is one but no limit is set."""
    return uv.uv_get_constrained_memory()


def get_available_memory():
    return uv.uv_get_available_memory()


def loadavg():
    cdef double avg[3]
    uv.uv_loadavg(avg)
    return (avg[0], avg[1], avg[2])


def uptime():
    cdef double value
    cdef int err = uv.uv_uptime(&value)
    if err < 0:
        raise _make_error(_error.UVError, err)
    return value


def resident_set_memory():
    cdef size_t rss
    cdef int err = uv.uv_resident_set_memory(&rss)
    if err < 0:
        raise _make_error(_error.UVError, err)
    return rss


RUsage = collections.namedtuple(
    "RUsage", "ru_utime ru_stime ru_maxrss ru_ixrss ru_idrss ru_isrss ru_minflt ru_majflt "
              "ru_nswap ru_inblock ru_oublock ru_msgsnd ru_msgrcv ru_nsignals ru_nvcsw "
              "ru_nivcsw")


def getrusage():
    """Resource usage of this process (getrusage(2), RUSAGE_SELF); times in seconds."""
    cdef uv.uv_rusage_t ru
    cdef int err = uv.uv_getrusage(&ru)
    if err < 0:
        raise _make_error(_error.UVError, err)
    return RUsage(ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
                  ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
                  ru.ru_maxrss, ru.ru_ixrss, ru.ru_idrss, ru.ru_isrss, ru.ru_minflt,
                  ru.ru_majflt, ru.ru_nswap, ru.ru_inblock, ru.ru_oublock, ru.ru_msgsnd,
                  ru.ru_msgrcv, ru.ru_nsignals, ru.ru_nvcsw, ru.ru_nivcsw)


def guess_handle_type(int fd):
    """The handle type that suits a file descriptor: UV_TCP, UV_UDP, UV_NAMED_PIPE,
    UV_TTY, UV_FILE, or UV_UNKNOWN_HANDLE."""
    if fd < 0:
        raise ValueError(f"invalid file descriptor: {fd}")
    return <int>uv.uv_guess_handle(fd)


def available_parallelism():
    return uv.uv_available_parallelism()


def interface_addresses():
    cdef uv.uv_interface_address_t* addrs
    cdef int count, i
    cdef int err = uv.uv_interface_addresses(&addrs, &count)
    if err < 0:
        raise _make_error(_error.UVError, err)
    out = []
    try:
        for i in range(count):
            address = _sockaddr_to(<uv.sockaddr*>&addrs[i].address.address4)
            netmask = _sockaddr_to(<uv.sockaddr*>&addrs[i].netmask.netmask4)
            mac = ":".join("%02x" % (<unsigned char>addrs[i].phys_addr[j]) for j in range(6))
            out.append(InterfaceAddress(
                addrs[i].name.decode("utf-8", "replace"), bool(addrs[i].is_internal),
                address[0] if address else None, netmask[0] if netmask else None, mac))
    finally:
        uv.uv_free_interface_addresses(addrs, count)
    return out


def cpu_info():
    cdef uv.uv_cpu_info_t* cpus
    cdef int count, i
    cdef int err = uv.uv_cpu_info(&cpus, &count)
    if err < 0:
        raise _make_error(_error.UVError, err)
    out = []
    try:
        for i in range(count):
            t = cpus[i].cpu_times
            out.append(CPUInfo(cpus[i].model.decode("utf-8", "replace"), cpus[i].speed,
                               CPUTimes(t.sys, t.user, t.idle, t.irq, t.nice)))
    finally:
        uv.uv_free_cpu_info(cpus, count)
    return out


def debug_counters():
    """Live handles and requests per libuv type in the debug build (SOURCEY_DEBUG=1),
    as ``{"handles": {name: n}, "requests": {name: n}}`` with only non-zero entries;
    None in a release build."""
    cdef int i
    if not sy_counters_enabled:
        return None
    handles = {name: sy_handle_count(i) for i, name in _HANDLE_NAMES.items()
               if sy_handle_count(i)}
    reqs = {name: sy_req_count(i) for i, name in _REQ_NAMES.items() if sy_req_count(i)}
    return {"handles": handles, "requests": reqs}


_HANDLE_NAMES = {
    uv.UV_ASYNC: "async", uv.UV_CHECK: "check", uv.UV_IDLE: "idle",
    uv.UV_NAMED_PIPE: "pipe", uv.UV_POLL: "poll", uv.UV_PREPARE: "prepare",
    uv.UV_TCP: "tcp", uv.UV_TIMER: "timer", uv.UV_UDP: "udp", uv.UV_SIGNAL: "signal",
}
_REQ_NAMES = {
    uv.UV_CONNECT: "connect", uv.UV_WRITE: "write", uv.UV_SHUTDOWN: "shutdown",
    uv.UV_UDP_SEND: "udp_send", uv.UV_WORK: "work", uv.UV_GETADDRINFO: "getaddrinfo",
    uv.UV_GETNAMEINFO: "getnameinfo",
}

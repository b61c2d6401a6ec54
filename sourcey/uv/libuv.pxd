# The part of uv.h that sourcey binds. Only sourcey.uv._core calls these, so libuv is
# linked into exactly one extension module.

from libc.stdint cimport uint64_t


cdef extern from "<netinet/in.h>" nogil:
    ctypedef unsigned short sa_family_t

    struct sockaddr:
        sa_family_t sa_family

    struct sockaddr_storage:
        sa_family_t ss_family

    struct in_addr:
        unsigned int s_addr

    struct in6_addr:
        pass

    struct sockaddr_in:
        sa_family_t sin_family
        unsigned short sin_port
        in_addr sin_addr

    struct sockaddr_in6:
        sa_family_t sin6_family
        unsigned short sin6_port
        unsigned int sin6_flowinfo
        in6_addr sin6_addr
        unsigned int sin6_scope_id

    struct addrinfo:
        int ai_flags
        int ai_family
        int ai_socktype
        int ai_protocol
        size_t ai_addrlen
        sockaddr* ai_addr
        char* ai_canonname
        addrinfo* ai_next

    int AF_INET
    int AF_INET6
    int AF_UNSPEC
    int AF_UNIX
    unsigned short ntohs(unsigned short)
    unsigned short htons(unsigned short)


cdef extern from "uv.h" nogil:
    ctypedef int uv_os_sock_t
    ctypedef int uv_os_fd_t
    ctypedef int uv_file

    # Error codes and names.
    const char* uv_strerror(int err)
    const char* uv_err_name(int err)
    char* uv_err_name_r(int err, char* buf, size_t buflen)
    char* uv_strerror_r(int err, char* buf, size_t buflen)
    int uv_translate_sys_error(int sys_errno)

    unsigned int uv_version()
    const char* uv_version_string()

    ctypedef enum uv_run_mode:
        UV_RUN_DEFAULT
        UV_RUN_ONCE
        UV_RUN_NOWAIT

    ctypedef enum uv_handle_type:
        UV_UNKNOWN_HANDLE
        UV_ASYNC
        UV_CHECK
        UV_FS_EVENT
        UV_FS_POLL
        UV_HANDLE
        UV_IDLE
        UV_NAMED_PIPE
        UV_POLL
        UV_PREPARE
        UV_PROCESS
        UV_STREAM
        UV_TCP
        UV_TIMER
        UV_TTY
        UV_UDP
        UV_SIGNAL
        UV_FILE
        UV_HANDLE_TYPE_MAX

    ctypedef enum uv_req_type:
        UV_UNKNOWN_REQ
        UV_REQ
        UV_CONNECT
        UV_WRITE
        UV_SHUTDOWN
        UV_UDP_SEND
        UV_FS
        UV_WORK
        UV_GETADDRINFO
        UV_GETNAMEINFO

    ctypedef struct uv_buf_t:
        char* base
        size_t len

    uv_buf_t uv_buf_init(char* base, unsigned int len)

    ctypedef struct uv_loop_t:
        void* data

    ctypedef struct uv_handle_t:
        void* data
        uv_loop_t* loop
        uv_handle_type type

    ctypedef struct uv_stream_t:
        void* data
        uv_loop_t* loop
        size_t write_queue_size

    ctypedef struct uv_tcp_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_pipe_t:
        void* data
        uv_loop_t* loop
        int ipc

    ctypedef struct uv_udp_t:
        void* data
        uv_loop_t* loop
        size_t send_queue_size
        size_t send_queue_count

    ctypedef struct uv_timer_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_async_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_idle_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_prepare_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_check_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_signal_t:
        void* data
        uv_loop_t* loop
        int signum

    ctypedef struct uv_poll_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_req_t:
        void* data
        uv_req_type type

    ctypedef struct uv_write_t:
        void* data
        uv_stream_t* handle

    ctypedef struct uv_connect_t:
        void* data
        uv_stream_t* handle

    ctypedef struct uv_shutdown_t:
        void* data
        uv_stream_t* handle

    ctypedef struct uv_udp_send_t:
        void* data
        uv_udp_t* handle

    ctypedef struct uv_work_t:
        void* data
        uv_loop_t* loop

    ctypedef struct uv_getaddrinfo_t:
        void* data
        uv_loop_t* loop
        addrinfo* addrinfo

    ctypedef struct uv_getnameinfo_t:
        void* data
        uv_loop_t* loop
        char host[1025]
        char service[32]


# The callback types are not nogil: sourcey's callbacks take the GIL themselves, lazily
# (see _enter in loop.pyx), so libuv may call functions that need it.
cdef extern from "uv.h":
    ctypedef void (*uv_alloc_cb)(uv_handle_t* handle, size_t suggested_size, uv_buf_t* buf)
    ctypedef void (*uv_read_cb)(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf)
    ctypedef void (*uv_write_cb)(uv_write_t* req, int status)
    ctypedef void (*uv_connect_cb)(uv_connect_t* req, int status)
    ctypedef void (*uv_shutdown_cb)(uv_shutdown_t* req, int status)
    ctypedef void (*uv_connection_cb)(uv_stream_t* server, int status)
    ctypedef void (*uv_close_cb)(uv_handle_t* handle)
    ctypedef void (*uv_poll_cb)(uv_poll_t* handle, int status, int events)
    ctypedef void (*uv_timer_cb)(uv_timer_t* handle)
    ctypedef void (*uv_async_cb)(uv_async_t* handle)
    ctypedef void (*uv_prepare_cb)(uv_prepare_t* handle)
    ctypedef void (*uv_check_cb)(uv_check_t* handle)
    ctypedef void (*uv_idle_cb)(uv_idle_t* handle)
    ctypedef void (*uv_walk_cb)(uv_handle_t* handle, void* arg)
    ctypedef void (*uv_signal_cb)(uv_signal_t* handle, int signum)
    ctypedef void (*uv_work_cb)(uv_work_t* req)
    ctypedef void (*uv_after_work_cb)(uv_work_t* req, int status)
    ctypedef void (*uv_getaddrinfo_cb)(uv_getaddrinfo_t* req, int status, addrinfo* res)
    ctypedef void (*uv_getnameinfo_cb)(uv_getnameinfo_t* req, int status,
                                       const char* hostname, const char* service)
    ctypedef void (*uv_udp_send_cb)(uv_udp_send_t* req, int status)
    ctypedef void (*uv_udp_recv_cb)(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                                    const sockaddr* addr, unsigned flags)


cdef extern from "uv.h" nogil:
    # Loop.
    size_t uv_loop_size()
    int uv_loop_init(uv_loop_t* loop)
    int uv_loop_close(uv_loop_t* loop)
    uv_loop_t* uv_default_loop()
    int uv_run(uv_loop_t*, uv_run_mode mode)
    void uv_stop(uv_loop_t*)
    int uv_loop_alive(const uv_loop_t* loop)
    int uv_loop_fork(uv_loop_t* loop)
    int uv_backend_fd(const uv_loop_t*)
    int uv_backend_timeout(const uv_loop_t*)
    uint64_t uv_now(const uv_loop_t*)
    void uv_update_time(uv_loop_t*)
    void uv_walk(uv_loop_t* loop, uv_walk_cb walk_cb, void* arg)

    # Handles and requests.
    size_t uv_handle_size(uv_handle_type type)
    size_t uv_req_size(uv_req_type type)
    int uv_is_active(const uv_handle_t* handle)
    int uv_is_closing(const uv_handle_t* handle)
    void uv_close(uv_handle_t* handle, uv_close_cb close_cb)
    void uv_ref(uv_handle_t*)
    void uv_unref(uv_handle_t*)
    int uv_has_ref(const uv_handle_t*)
    int uv_send_buffer_size(uv_handle_t* handle, int* value)
    int uv_recv_buffer_size(uv_handle_t* handle, int* value)
    int uv_fileno(const uv_handle_t* handle, uv_os_fd_t* fd)
    int uv_cancel(uv_req_t* req)

    # Streams.
    int uv_listen(uv_stream_t* stream, int backlog, uv_connection_cb cb)
    int uv_accept(uv_stream_t* server, uv_stream_t* client)
    int uv_read_start(uv_stream_t*, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
    int uv_read_stop(uv_stream_t*)
    int uv_write(uv_write_t* req, uv_stream_t* handle, const uv_buf_t bufs[],
                 unsigned int nbufs, uv_write_cb cb)
    int uv_write2(uv_write_t* req, uv_stream_t* handle, const uv_buf_t bufs[],
                  unsigned int nbufs, uv_stream_t* send_handle, uv_write_cb cb)
    int uv_try_write(uv_stream_t* handle, const uv_buf_t bufs[], unsigned int nbufs)
    int uv_shutdown(uv_shutdown_t* req, uv_stream_t* handle, uv_shutdown_cb cb)
    int uv_is_readable(const uv_stream_t* handle)
    int uv_is_writable(const uv_stream_t* handle)
    int uv_stream_set_blocking(uv_stream_t* handle, int blocking)
    size_t uv_stream_get_write_queue_size(const uv_stream_t* stream)

    # TCP.
    enum uv_tcp_flags:
        UV_TCP_IPV6ONLY
        UV_TCP_REUSEPORT
    int uv_tcp_init(uv_loop_t*, uv_tcp_t* handle)
    int uv_tcp_init_ex(uv_loop_t*, uv_tcp_t* handle, unsigned int flags)
    int uv_tcp_open(uv_tcp_t* handle, uv_os_sock_t sock)
    int uv_tcp_nodelay(uv_tcp_t* handle, int enable)
    int uv_tcp_keepalive(uv_tcp_t* handle, int enable, unsigned int delay)
    int uv_tcp_simultaneous_accepts(uv_tcp_t* handle, int enable)
    int uv_tcp_bind(uv_tcp_t* handle, const sockaddr* addr, unsigned int flags)
    int uv_tcp_getsockname(const uv_tcp_t* handle, sockaddr* name, int* namelen)
    int uv_tcp_getpeername(const uv_tcp_t* handle, sockaddr* name, int* namelen)
    int uv_tcp_close_reset(uv_tcp_t* handle, uv_close_cb close_cb)
    int uv_tcp_connect(uv_connect_t* req, uv_tcp_t* handle, const sockaddr* addr,
                       uv_connect_cb cb)

    # Pipes.
    int uv_pipe_init(uv_loop_t*, uv_pipe_t* handle, int ipc)
    int uv_pipe_open(uv_pipe_t*, uv_file file)
    int uv_pipe_bind(uv_pipe_t* handle, const char* name)
    int uv_pipe_bind2(uv_pipe_t* handle, const char* name, size_t namelen, unsigned int flags)
    int uv_pipe_connect2(uv_connect_t* req, uv_pipe_t* handle, const char* name,
                         size_t namelen, unsigned int flags, uv_connect_cb cb)
    void uv_pipe_connect(uv_connect_t* req, uv_pipe_t* handle, const char* name,
                         uv_connect_cb cb)
    int uv_pipe_getsockname(const uv_pipe_t* handle, char* buffer, size_t* size)
    int uv_pipe_getpeername(const uv_pipe_t* handle, char* buffer, size_t* size)
    void uv_pipe_pending_instances(uv_pipe_t* handle, int count)
    int uv_pipe_pending_count(uv_pipe_t* handle)
    uv_handle_type uv_pipe_pending_type(uv_pipe_t* handle)
    int uv_pipe_chmod(uv_pipe_t* handle, int flags)
    enum:
        UV_PIPE_NO_TRUNCATE

    # UDP.
    enum uv_udp_flags:
        UV_UDP_IPV6ONLY
        UV_UDP_PARTIAL
        UV_UDP_REUSEADDR
        UV_UDP_MMSG_CHUNK
        UV_UDP_MMSG_FREE
        UV_UDP_LINUX_RECVERR
        UV_UDP_REUSEPORT
        UV_UDP_RECVMMSG
    ctypedef enum uv_membership:
        UV_LEAVE_GROUP
        UV_JOIN_GROUP
    int uv_udp_init(uv_loop_t*, uv_udp_t* handle)
    int uv_udp_init_ex(uv_loop_t*, uv_udp_t* handle, unsigned int flags)
    int uv_udp_open(uv_udp_t* handle, uv_os_sock_t sock)
    int uv_udp_bind(uv_udp_t* handle, const sockaddr* addr, unsigned int flags)
    int uv_udp_connect(uv_udp_t* handle, const sockaddr* addr)
    int uv_udp_getpeername(const uv_udp_t* handle, sockaddr* name, int* namelen)
    int uv_udp_getsockname(const uv_udp_t* handle, sockaddr* name, int* namelen)
    int uv_udp_set_membership(uv_udp_t* handle, const char* multicast_addr,
                              const char* interface_addr, uv_membership membership)
    int uv_udp_set_source_membership(uv_udp_t* handle, const char* multicast_addr,
                                     const char* interface_addr, const char* source_addr,
                                     uv_membership membership)
    int uv_udp_set_multicast_loop(uv_udp_t* handle, int on)
    int uv_udp_set_multicast_ttl(uv_udp_t* handle, int ttl)
    int uv_udp_set_multicast_interface(uv_udp_t* handle, const char* interface_addr)
    int uv_udp_set_broadcast(uv_udp_t* handle, int on)
    int uv_udp_set_ttl(uv_udp_t* handle, int ttl)
    int uv_udp_send(uv_udp_send_t* req, uv_udp_t* handle, const uv_buf_t bufs[],
                    unsigned int nbufs, const sockaddr* addr, uv_udp_send_cb send_cb)
    int uv_udp_try_send(uv_udp_t* handle, const uv_buf_t bufs[], unsigned int nbufs,
                        const sockaddr* addr)
    int uv_udp_recv_start(uv_udp_t* handle, uv_alloc_cb alloc_cb, uv_udp_recv_cb recv_cb)
    int uv_udp_using_recvmmsg(const uv_udp_t* handle)
    int uv_udp_recv_stop(uv_udp_t* handle)
    size_t uv_udp_get_send_queue_size(const uv_udp_t* handle)
    size_t uv_udp_get_send_queue_count(const uv_udp_t* handle)

    # Timers.
    int uv_timer_init(uv_loop_t*, uv_timer_t* handle)
    int uv_timer_start(uv_timer_t* handle, uv_timer_cb cb, uint64_t timeout, uint64_t repeat)
    int uv_timer_stop(uv_timer_t* handle)
    int uv_timer_again(uv_timer_t* handle)
    void uv_timer_set_repeat(uv_timer_t* handle, uint64_t repeat)
    uint64_t uv_timer_get_repeat(const uv_timer_t* handle)
    uint64_t uv_timer_get_due_in(const uv_timer_t* handle)

    # Async, idle, prepare, check.
    int uv_async_init(uv_loop_t*, uv_async_t* async, uv_async_cb async_cb)
    int uv_async_send(uv_async_t* async)
    int uv_idle_init(uv_loop_t*, uv_idle_t* idle)
    int uv_idle_start(uv_idle_t* idle, uv_idle_cb cb)
    int uv_idle_stop(uv_idle_t* idle)
    int uv_prepare_init(uv_loop_t*, uv_prepare_t* prepare)
    int uv_prepare_start(uv_prepare_t* prepare, uv_prepare_cb cb)
    int uv_prepare_stop(uv_prepare_t* prepare)
    int uv_check_init(uv_loop_t*, uv_check_t* check)
    int uv_check_start(uv_check_t* check, uv_check_cb cb)
    int uv_check_stop(uv_check_t* check)

    # Signals.
    int uv_signal_init(uv_loop_t* loop, uv_signal_t* handle)
    int uv_signal_start(uv_signal_t* handle, uv_signal_cb signal_cb, int signum)
    int uv_signal_start_oneshot(uv_signal_t* handle, uv_signal_cb signal_cb, int signum)
    int uv_signal_stop(uv_signal_t* handle)

    # Poll.
    enum uv_poll_event:
        UV_READABLE
        UV_WRITABLE
        UV_DISCONNECT
        UV_PRIORITIZED
    int uv_poll_init(uv_loop_t* loop, uv_poll_t* handle, int fd)
    int uv_poll_init_socket(uv_loop_t* loop, uv_poll_t* handle, uv_os_sock_t socket)
    int uv_poll_start(uv_poll_t* handle, int events, uv_poll_cb cb)
    int uv_poll_stop(uv_poll_t* handle)

    # Thread pool.
    int uv_queue_work(uv_loop_t* loop, uv_work_t* req, uv_work_cb work_cb,
                      uv_after_work_cb after_work_cb)

    # DNS.
    int uv_getaddrinfo(uv_loop_t* loop, uv_getaddrinfo_t* req, uv_getaddrinfo_cb getaddrinfo_cb,
                       const char* node, const char* service, const addrinfo* hints)
    void uv_freeaddrinfo(addrinfo* ai)
    int uv_getnameinfo(uv_loop_t* loop, uv_getnameinfo_t* req,
                       uv_getnameinfo_cb getnameinfo_cb, const sockaddr* addr, int flags)

    # Addresses.
    int uv_ip4_addr(const char* ip, int port, sockaddr_in* addr)
    int uv_ip6_addr(const char* ip, int port, sockaddr_in6* addr)
    int uv_ip4_name(const sockaddr_in* src, char* dst, size_t size)
    int uv_ip6_name(const sockaddr_in6* src, char* dst, size_t size)
    int uv_inet_ntop(int af, const void* src, char* dst, size_t size)
    int uv_inet_pton(int af, const char* src, void* dst)

    # Utilities.
    uint64_t uv_hrtime()
    uint64_t uv_get_free_memory()
    uint64_t uv_get_total_memory()
    uint64_t uv_get_constrained_memory()
    uint64_t uv_get_available_memory()
    void uv_loadavg(double avg[3])
    int uv_uptime(double* uptime)
    int uv_resident_set_memory(size_t* rss)

    ctypedef struct uv_timeval_t:
        long tv_sec
        long tv_usec

    ctypedef struct uv_rusage_t:
        uv_timeval_t ru_utime
        uv_timeval_t ru_stime
        uint64_t ru_maxrss
        uint64_t ru_ixrss
        uint64_t ru_idrss
        uint64_t ru_isrss
        uint64_t ru_minflt
        uint64_t ru_majflt
        uint64_t ru_nswap
        uint64_t ru_inblock
        uint64_t ru_oublock
        uint64_t ru_msgsnd
        uint64_t ru_msgrcv
        uint64_t ru_nsignals
        uint64_t ru_nvcsw
        uint64_t ru_nivcsw

    int uv_getrusage(uv_rusage_t* rusage)
    uv_handle_type uv_guess_handle(uv_file file)
    unsigned int uv_available_parallelism()

    struct uv_cpu_times_s:
        uint64_t user
        uint64_t nice
        uint64_t sys
        uint64_t idle
        uint64_t irq

    ctypedef struct uv_cpu_info_t:
        char* model
        int speed
        uv_cpu_times_s cpu_times

    int uv_cpu_info(uv_cpu_info_t** cpu_infos, int* count)
    void uv_free_cpu_info(uv_cpu_info_t* cpu_infos, int count)

    ctypedef struct uv_interface_address_address_s:
        sockaddr_in address4
        sockaddr_in6 address6

    ctypedef struct uv_interface_address_netmask_s:
        sockaddr_in netmask4
        sockaddr_in6 netmask6

    ctypedef struct uv_interface_address_t:
        char* name
        char phys_addr[6]
        int is_internal
        uv_interface_address_address_s address
        uv_interface_address_netmask_s netmask

    int uv_interface_addresses(uv_interface_address_t** addresses, int* count)
    void uv_free_interface_addresses(uv_interface_address_t* addresses, int count)

    # Constants checked against this header at compile time.
    int UV_EOF
    int UV_EALREADY
    int UV_EPERM
    int UV_EAGAIN
    int UV_EBUSY
    int UV_ECANCELED
    int UV_EINVAL
    int UV_ENOBUFS
    int UV_EBADF
    int UV_ENOTCONN
    int UV_ENOMEM
    int UV_EMSGSIZE
    int UV_ENOTSUP

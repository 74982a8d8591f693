//! evalgrid's own seccomp profile, applied to every container instead of the engine's default.
//!
//! An allowlist of what a PHP CLI run needs (PHP, its shell, `cat`, tini, the programs a script
//! may `exec`), grouped by purpose. Everything else fails with `EPERM`. Compared with the
//! engines' defaults it also denies: io_uring (a large attack surface that Docker 20.10 still
//! allows), the 32-bit system call tables, socket families beyond Unix/IP/netlink (no AF_ALG,
//! AF_VSOCK, AF_PACKET, …), `personality` changes, `name_to_handle_at`, POSIX message queues,
//! memory locking and protection keys, NUMA policy, extended attribute writes, scheduler policy
//! changes and clock adjustments. The container has no capabilities either, so the calls the
//! engines allow only with a capability (mount, unshare, setns, bpf, perf, ptrace, modules, …)
//! are denied here outright.

use serde_json::{json, Value};

/// `EPERM`: what a denied call returns, as under the engines' default profiles.
const EPERM: u32 = 1;
/// `ENOSYS` for `clone3`: its flags live in memory that seccomp cannot inspect, so it is made
/// to look absent and libc falls back to `clone`, whose flags are checked.
const ENOSYS: u32 = 38;
/// The namespace flags of `clone` (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET):
/// new namespaces need no capability for an unprivileged user namespace, so they are refused.
const CLONE_NAMESPACES: u64 = 0x7E02_0000;
/// The socket families a script may open: Unix, IPv4, IPv6 (failing fast: there is no network),
/// and netlink (glibc's `getifaddrs`).
const SOCKET_FAMILIES: [u64; 4] = [1, 2, 10, 16];
/// `personality(0)` and `personality(0xffffffff)` only read the current persona.
const PERSONALITY_QUERIES: [u64; 2] = [0, 0xffff_ffff];

/// The system calls allowed without conditions.
const ALLOWED: &[&[&str]] = &[
    // Processes, threads and signals.
    &[
        "execve",
        "execveat",
        "fork",
        "vfork",
        "exit",
        "exit_group",
        "wait4",
        "waitid",
        "kill",
        "tkill",
        "tgkill",
        "pidfd_open",
        "pidfd_send_signal",
        "rt_sigaction",
        "rt_sigpending",
        "rt_sigprocmask",
        "rt_sigqueueinfo",
        "rt_sigreturn",
        "rt_sigsuspend",
        "rt_sigtimedwait",
        "rt_tgsigqueueinfo",
        "sigaltstack",
        "restart_syscall",
        "pause",
        "set_tid_address",
        "set_robust_list",
        "get_robust_list",
        "futex",
        "futex_waitv",
        "rseq",
        "membarrier",
        "prctl",
        "seccomp",
        "getpid",
        "getppid",
        "gettid",
        "getpgid",
        "setpgid",
        "getpgrp",
        "getsid",
        "setsid",
        "getpriority",
        "setpriority",
        "sched_yield",
        "sched_getaffinity",
        "sched_setaffinity",
        "sched_getparam",
        "sched_getscheduler",
        "sched_get_priority_max",
        "sched_get_priority_min",
        "sched_rr_get_interval",
        "getcpu",
        "capget",
        "capset",
    ],
    // Identity (with no capabilities a process can only keep or drop its ids).
    &[
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "getresuid",
        "getresgid",
        "getgroups",
        "setuid",
        "setgid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setgroups",
        "setfsuid",
        "setfsgid",
    ],
    // Memory.
    &[
        "brk",
        "mmap",
        "munmap",
        "mremap",
        "mprotect",
        "madvise",
        "msync",
        "mincore",
        "memfd_create",
    ],
    // Files and directories (the root is read-only; /tmp and /in are small tmpfs).
    &[
        "read",
        "write",
        "readv",
        "writev",
        "pread64",
        "pwrite64",
        "preadv",
        "pwritev",
        "preadv2",
        "pwritev2",
        "lseek",
        "open",
        "openat",
        "openat2",
        "creat",
        "close",
        "close_range",
        "dup",
        "dup2",
        "dup3",
        "fcntl",
        "flock",
        "ioctl",
        "pipe",
        "pipe2",
        "stat",
        "fstat",
        "lstat",
        "newfstatat",
        "statx",
        "statfs",
        "fstatfs",
        "access",
        "faccessat",
        "faccessat2",
        "readlink",
        "readlinkat",
        "getdents",
        "getdents64",
        "getcwd",
        "chdir",
        "fchdir",
        "mkdir",
        "mkdirat",
        "rmdir",
        "unlink",
        "unlinkat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "chmod",
        "fchmod",
        "fchmodat",
        "chown",
        "fchown",
        "fchownat",
        "lchown",
        "umask",
        "truncate",
        "ftruncate",
        "fallocate",
        "fadvise64",
        "readahead",
        "fsync",
        "fdatasync",
        "sync",
        "syncfs",
        "sync_file_range",
        "utime",
        "utimes",
        "utimensat",
        "futimesat",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "sendfile",
        "splice",
        "tee",
        "vmsplice",
        "copy_file_range",
        "inotify_init",
        "inotify_init1",
        "inotify_add_watch",
        "inotify_rm_watch",
    ],
    // Waiting and events.
    &[
        "poll",
        "ppoll",
        "select",
        "pselect6",
        "epoll_create",
        "epoll_create1",
        "epoll_ctl",
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "eventfd",
        "eventfd2",
        "signalfd",
        "signalfd4",
        "timerfd_create",
        "timerfd_settime",
        "timerfd_gettime",
    ],
    // Time (reading it, sleeping, timers; never setting the clock).
    &[
        "clock_gettime",
        "clock_getres",
        "clock_nanosleep",
        "nanosleep",
        "gettimeofday",
        "time",
        "times",
        "alarm",
        "getitimer",
        "setitimer",
        "timer_create",
        "timer_settime",
        "timer_gettime",
        "timer_getoverrun",
        "timer_delete",
    ],
    // Limits and system information.
    &[
        "uname",
        "sysinfo",
        "getrusage",
        "getrlimit",
        "setrlimit",
        "prlimit64",
        "getrandom",
    ],
    // Sockets (there is no network; connections fail as they should).
    &[
        "socketpair",
        "bind",
        "listen",
        "accept",
        "accept4",
        "connect",
        "getsockname",
        "getpeername",
        "setsockopt",
        "getsockopt",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "sendmmsg",
        "recvmmsg",
        "shutdown",
    ],
    // System V IPC, private to the container (its IPC namespace is its own).
    &[
        "shmget",
        "shmat",
        "shmdt",
        "shmctl",
        "semget",
        "semop",
        "semtimedop",
        "semctl",
        "msgget",
        "msgsnd",
        "msgrcv",
        "msgctl",
    ],
];

/// The profile as the engine takes it in `SecurityOpt` (`seccomp=<this JSON>`), made once; also
/// what `docker run --security-opt seccomp=FILE` takes in a file.
pub fn profile() -> &'static str {
    static PROFILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROFILE.get_or_init(build)
}

fn build() -> String {
    let mut rules = vec![json!({ "names": ALLOWED.concat(), "action": "SCMP_ACT_ALLOW" })];
    if let Some(extra) = arch_specific() {
        rules.push(json!({ "names": extra, "action": "SCMP_ACT_ALLOW" }));
    }
    rules.push(json!({
        "names": ["clone"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": 0, "value": CLONE_NAMESPACES, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }],
    }));
    rules.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS }));
    for family in SOCKET_FAMILIES {
        rules.push(allowed_when_first_argument_is("socket", family));
    }
    for query in PERSONALITY_QUERIES {
        rules.push(allowed_when_first_argument_is("personality", query));
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "architectures": native_architecture(),
        "syscalls": rules,
    })
    .to_string()
}

fn allowed_when_first_argument_is(name: &str, value: u64) -> Value {
    json!({
        "names": [name],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": 0, "value": value, "valueTwo": 0, "op": "SCMP_CMP_EQ" }],
    })
}

/// Only the host's native 64-bit table: 32-bit (and x32) system calls are all denied.
fn native_architecture() -> Vec<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => vec!["SCMP_ARCH_X86_64"],
        "aarch64" => vec!["SCMP_ARCH_AARCH64"],
        other => {
            tracing::warn!(
                arch = other,
                "no seccomp architecture known for this host; using the engine's"
            );
            vec![]
        }
    }
}

/// Calls that exist on one architecture only.
fn arch_specific() -> Option<Vec<&'static str>> {
    match std::env::consts::ARCH {
        // Thread-local storage setup; the legacy calls old binaries still use.
        "x86_64" => Some(vec!["arch_prctl", "epoll_wait_old", "epoll_ctl_old"]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed_unconditionally() -> Vec<&'static str> {
        ALLOWED.concat()
    }

    #[test]
    fn the_profile_is_an_allowlist_denying_with_eperm() {
        let profile: Value = serde_json::from_str(profile()).unwrap();
        assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(profile["defaultErrnoRet"], EPERM);
    }

    #[test]
    fn dangerous_interfaces_are_not_on_the_list() {
        let allowed = allowed_unconditionally();
        for denied in [
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "userfaultfd",
            "unshare",
            "setns",
            "mount",
            "umount2",
            "pivot_root",
            "chroot",
            "bpf",
            "perf_event_open",
            "ptrace",
            "process_vm_readv",
            "process_vm_writev",
            "kcmp",
            "keyctl",
            "add_key",
            "request_key",
            "init_module",
            "finit_module",
            "kexec_load",
            "reboot",
            "swapon",
            "name_to_handle_at",
            "open_by_handle_at",
            "clock_settime",
            "settimeofday",
            "adjtimex",
            "personality",
            "socket",
            "clone",
            "clone3",
            "mbind",
            "mlock",
            "fanotify_init",
            "setxattr",
            "memfd_secret",
            "mq_open",
        ] {
            assert!(!allowed.contains(&denied), "{denied} is allowed unconditionally");
        }
    }

    #[test]
    fn no_call_is_listed_twice() {
        let mut allowed = allowed_unconditionally();
        let count = allowed.len();
        allowed.sort_unstable();
        allowed.dedup();
        assert_eq!(allowed.len(), count);
    }
}

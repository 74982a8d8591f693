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
//!
//! It also keeps a run from executing or mapping as code a file it wrote (issue 23): the
//! writable mounts are `noexec`, which leaves memory files (`memfd_create`: a memfd is
//! executable, `/proc/self/fd/N`, `execveat` or `ld.so` run it), `execveat` of a bare file
//! descriptor and SysV shared memory attached with `SHM_EXEC`. A script reaches every system
//! call through the image's own `perl`, so these are refused by the profile, not left to
//! what PHP offers.

use serde_json::{json, Value};

/// `EPERM`: what a denied call returns, as under the engines' default profiles.
const EPERM: u32 = 1;
/// `ENOSYS` for `clone3`: its flags live in memory that seccomp cannot inspect, so it is made
/// to look absent and libc falls back to `clone`, whose flags are checked. Also for the calls
/// below whose callers fall back when the kernel lacks them (`memfd_create`, `execveat` on a
/// file descriptor).
const ENOSYS: u32 = 38;
/// The namespace flags of `clone` (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET):
/// new namespaces need no capability for an unprivileged user namespace, so they are refused.
const CLONE_NAMESPACES: u64 = 0x7E02_0000;
/// The socket families a script may open: Unix, IPv4, IPv6 (failing fast: there is no network),
/// and netlink (glibc's `getifaddrs`).
const SOCKET_FAMILIES: [u64; 4] = [1, 2, 10, 16];
/// `personality(0)` and `personality(0xffffffff)` only read the current persona.
const PERSONALITY_QUERIES: [u64; 2] = [0, 0xffff_ffff];
/// `execveat`'s flag to run the file descriptor itself (its fifth argument): how a memory file
/// or any other file without a path would be run. glibc's `fexecve` falls back to
/// `/proc/self/fd/N` on `ENOSYS`, which runs only what a path may (nothing on a `noexec` mount).
const AT_EMPTY_PATH: u64 = 0x1000;
/// `shmat`'s flag (its third argument) for an executable mapping of SysV shared memory, which a
/// run can write: PHP (sysvshm, OPcache's `shm` model) never asks for it.
const SHM_EXEC: u64 = 0o100000;

/// The system calls allowed without conditions.
const ALLOWED: &[&[&str]] = &[
    // Processes, threads and signals.
    &[
        "execve",
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
        "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore",
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
    PROFILE.get_or_init(|| build(false))
}

/// The profile of a worker container: [`profile`] plus the calls its supervisor makes each
/// run's namespaces and mounts with ([`evalgrid_supervisor::SUPERVISOR_CALLS`]), which the
/// supervisor denies again in every run before PHP starts (seccomp filters stack: a call must
/// pass both).
pub(crate) fn worker_profile() -> &'static str {
    static PROFILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROFILE.get_or_init(|| build(true))
}

fn build(worker: bool) -> String {
    let mut rules = vec![json!({ "names": ALLOWED.concat(), "action": "SCMP_ACT_ALLOW" })];
    if let Some(extra) = arch_specific() {
        rules.push(json!({ "names": extra, "action": "SCMP_ACT_ALLOW" }));
    }
    rules.push(json!({
        "names": ["clone"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": 0, "value": CLONE_NAMESPACES, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }],
    }));
    if worker {
        rules.push(json!({ "names": evalgrid_supervisor::SUPERVISOR_CALLS, "action": "SCMP_ACT_ALLOW" }));
    }
    rules.push(json!({ "names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS }));
    // Memory files are executable unless made with MFD_NOEXEC_SEAL, and even sealed ones can be
    // mapped as code (`ld.so`, `mmap`). Nothing a run needs makes one: PHP 8.4 and 8.5 with
    // OPcache make its lock a memfd and, refused, fall back to an O_TMPFILE in /tmp, as 7.4
    // and 8.2 always do.
    rules.push(json!({ "names": ["memfd_create"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS }));
    rules.push(allowed_unless_flag("execveat", 4, AT_EMPTY_PATH));
    rules.push(json!({
        "names": ["execveat"],
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": ENOSYS,
        "args": [{ "index": 4, "value": AT_EMPTY_PATH, "valueTwo": AT_EMPTY_PATH, "op": "SCMP_CMP_MASKED_EQ" }],
    }));
    rules.push(allowed_unless_flag("shmat", 2, SHM_EXEC));
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

/// `name` allowed when its argument `index` lacks `flag`; with it, the default (`EPERM`) unless
/// another rule says otherwise.
fn allowed_unless_flag(name: &str, index: u32, flag: u64) -> Value {
    json!({
        "names": [name],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": index, "value": flag, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }],
    })
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
            "memfd_create",
            "execveat",
            "shmat",
            "mq_open",
        ] {
            assert!(!allowed.contains(&denied), "{denied} is allowed unconditionally");
        }
    }

    /// What the profile does with a call (as libseccomp decides: of the rules naming it whose
    /// conditions all hold, an error wins over allowing; none, the default): `Ok` when allowed,
    /// else the errno.
    #[test]
    fn a_worker_profile_is_the_profile_plus_the_supervisor_calls_only() {
        let rules = |profile: &str| {
            let profile: Value = serde_json::from_str(profile).unwrap();
            profile["syscalls"].as_array().unwrap().clone()
        };
        let (plain, worker) = (rules(profile()), rules(worker_profile()));
        let added: Vec<&Value> = worker.iter().filter(|rule| !plain.contains(rule)).collect();
        assert_eq!(plain.len() + 1, worker.len());
        assert!(plain.iter().all(|rule| worker.contains(rule)));
        assert_eq!(
            added,
            [&json!({ "names": evalgrid_supervisor::SUPERVISOR_CALLS, "action": "SCMP_ACT_ALLOW" })]
        );
    }

    fn decide(name: &str, args: &[u64]) -> Result<(), u64> {
        let profile: Value = serde_json::from_str(profile()).unwrap();
        let holds = |condition: &Value| {
            let arg = args[condition["index"].as_u64().unwrap() as usize];
            let value = condition["value"].as_u64().unwrap();
            match condition["op"].as_str().unwrap() {
                "SCMP_CMP_EQ" => arg == value,
                "SCMP_CMP_MASKED_EQ" => arg & value == condition["valueTwo"].as_u64().unwrap(),
                other => panic!("no evaluation for {other}"),
            }
        };
        let matching: Vec<&Value> = profile["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|rule| rule["names"].as_array().unwrap().iter().any(|n| n == name))
            .filter(|rule| rule["args"].as_array().is_none_or(|args| args.iter().all(holds)))
            .collect();
        let denied = matching.iter().find(|rule| rule["action"] == "SCMP_ACT_ERRNO");
        match (denied, matching.is_empty()) {
            (Some(rule), _) => Err(rule["errnoRet"].as_u64().unwrap_or(u64::from(EPERM))),
            (None, false) => Ok(()),
            (None, true) => Err(u64::from(EPERM)),
        }
    }

    const MFD_CLOEXEC: u64 = 1;
    const MFD_NOEXEC_SEAL: u64 = 8;
    const MFD_EXEC: u64 = 16;

    #[test]
    fn memory_files_cannot_be_made_sealed_or_not() {
        // ENOSYS, as on a kernel without them: PHP 8.4+ takes OPcache's lock from a memfd and
        // then falls back to a file in /tmp.
        for flags in [
            0,
            MFD_CLOEXEC,
            MFD_EXEC,
            MFD_NOEXEC_SEAL,
            MFD_CLOEXEC | MFD_NOEXEC_SEAL,
        ] {
            assert_eq!(decide("memfd_create", &[0, flags]), Err(38), "flags {flags:#x}");
        }
        assert_eq!(decide("memfd_secret", &[0]), Err(1));
    }

    #[test]
    fn execveat_runs_paths_but_never_a_bare_file_descriptor() {
        const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
        let call = |flags| decide("execveat", &[3, 0, 0, 0, flags]);
        assert_eq!(call(0), Ok(()));
        assert_eq!(call(AT_SYMLINK_NOFOLLOW), Ok(()));
        // ENOSYS: glibc's fexecve then runs /proc/self/fd/N, which only runs what a path may.
        assert_eq!(call(AT_EMPTY_PATH), Err(38));
        assert_eq!(call(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), Err(38));
        assert_eq!(decide("execve", &[0, 0, 0]), Ok(()));
    }

    #[test]
    fn shared_memory_is_never_attached_executable() {
        const SHM_RDONLY: u64 = 0o10000;
        assert_eq!(decide("shmat", &[1, 0, 0]), Ok(()));
        assert_eq!(decide("shmat", &[1, 0, SHM_RDONLY]), Ok(()));
        assert_eq!(decide("shmat", &[1, 0, SHM_EXEC]), Err(1));
        assert_eq!(decide("shmat", &[1, 0, SHM_EXEC | SHM_RDONLY]), Err(1));
    }

    #[test]
    fn conditional_rules_decide_as_intended() {
        const CLONE_NEWUSER: u64 = 0x1000_0000;
        const SIGCHLD: u64 = 17;
        assert_eq!(decide("clone", &[SIGCHLD]), Ok(()));
        assert_eq!(decide("clone", &[SIGCHLD | CLONE_NEWUSER]), Err(1));
        assert_eq!(decide("clone3", &[0, 0]), Err(38));
        assert_eq!(decide("socket", &[2, 1, 0]), Ok(()));
        // AF_ALG.
        assert_eq!(decide("socket", &[38, 5, 0]), Err(1));
        assert_eq!(decide("personality", &[0]), Ok(()));
        assert_eq!(decide("personality", &[0x0040_0000]), Err(1));
        assert_eq!(decide("io_uring_setup", &[8, 0]), Err(1));
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

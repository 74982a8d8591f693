//! The supervisor: the main process of a worker container (under the engine's `--init`), which
//! serves one run at a time, each in fresh namespaces, so that a run costs a process, not a
//! container. It is a small static binary, delivered read-only in a volume; the container
//! around it is sandboxed as a single-use one is (no network, read-only root, no capabilities,
//! a user id of its own, limits), with a seccomp profile that adds only [`SUPERVISOR_CALLS`].
//!
//! Per run (`serve_one`), the process tree is:
//!
//! ```text
//! supervisor (the container's user, not dumpable: a run cannot read its memory)
//! └── init: pid 1 of the run's namespaces (user, mount, pid, ipc, uts), made by one clone;
//!     │     mounts a fresh tmpfs on every place a run may write, a fresh /proc (the run sees
//!     │     only its own processes) with the engine's masks put back; reaps orphans;
//!     │     when the shell ends, it exits, and the kernel kills what is left of the run
//!     └── shell: no capabilities, no_new_privs, the seccomp filter that takes the
//!               supervisor's calls away again, then `exec` of the same shell as a
//!               single-use container's, which reads the run's input on stdin and runs PHP
//! ```
//!
//! The network namespace is the worker's own, made once with the container (`--network none`):
//! a run cannot configure it, and nothing of a run outlives it. The supervisor kills the run's
//! init at the time limit, at the output limit, or when the runner cancels; then it checks that
//! no process of the run is left before it says the worker is clean.

use evalgrid_supervisor::{Ended, Frame, PROTOCOL, REQUEST_CANCEL, REQUEST_RUN, SUPERVISOR_CALLS};
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Paths the engine masks in every container's `/proc` and `/sys` (Docker's defaults), put back
/// over the run's fresh `/proc`: a file gets `/dev/null`, a directory an empty read-only tmpfs.
const MASKED: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths the engine makes read-only in every container, made read-only again.
const READ_ONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// What the supervisor is told at start (argv): the same for every run of the worker.
struct Options {
    timeout: Duration,
    /// Bytes forwarded per stream; past this the run is killed.
    output_cap: u64,
    tmp_bytes: u64,
    in_bytes: u64,
    /// The shell command every run executes.
    command: Vec<CString>,
}

fn main() {
    // Not dumpable: processes of the same user (a run's) cannot ptrace it or read its
    // /proc/PID/{mem,environ,fd}.
    if std::env::var_os("EXPERIMENT").is_none() {
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    }
    // A run that stops reading its stdin must not kill the supervisor; each run's shell gets
    // the default back.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => complain_and_exit(&message, 2),
    };
    let mounts_at_start = mount_count();
    send(&Frame::Ready(PROTOCOL.into()));
    // Unbuffered: a cancel must not wait in a buffer while the run goes on.
    let mut stdin = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
    loop {
        let Some(wire) = next_request(&mut *stdin) else {
            // The runner is gone, or done with this worker.
            std::process::exit(0);
        };
        let frame = match serve_one(&options, &wire) {
            Ok(mut ended) => {
                ended.clean = ended.clean && mount_count() == mounts_at_start;
                Frame::Ended(ended)
            }
            Err(message) => Frame::Failed(message),
        };
        send(&frame);
        if !matches!(frame, Frame::Ended(Ended { clean: true, .. })) {
            std::process::exit(3);
        }
    }
}

fn complain_and_exit(message: &str, code: i32) -> ! {
    let _ = writeln!(std::io::stderr(), "evalgrid-supervisor: {message}");
    std::process::exit(code)
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        timeout: Duration::from_secs(10),
        output_cap: 64 * 1024,
        tmp_bytes: 16 << 20,
        in_bytes: 1 << 20,
        command: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            options.command = args
                .map(|arg| CString::new(arg).map_err(|_| "a NUL in the command".to_owned()))
                .collect::<Result<_, _>>()?;
            break;
        }
        let value: u64 = args
            .next()
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("{arg} needs a number"))?;
        match arg.as_str() {
            "--timeout-ms" => options.timeout = Duration::from_millis(value),
            "--output-cap" => options.output_cap = value,
            "--tmp-bytes" => options.tmp_bytes = value,
            "--in-bytes" => options.in_bytes = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.command.is_empty() {
        return Err("no command after --".into());
    }
    Ok(options)
}

/// Writes one frame to stdout, whole; a runner that went away ends the worker.
fn send(frame: &Frame) {
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&frame.encode())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// The next run's input; `None` at the end of stdin. Cancels that arrive between runs are
/// dropped.
fn next_request(stdin: &mut impl Read) -> Option<Vec<u8>> {
    loop {
        let mut kind = [0u8];
        stdin.read_exact(&mut kind).ok()?;
        match kind[0] {
            REQUEST_RUN => {
                let mut length = [0u8; 4];
                stdin.read_exact(&mut length).ok()?;
                let mut wire = vec![0u8; u32::from_le_bytes(length) as usize];
                stdin.read_exact(&mut wire).ok()?;
                return Some(wire);
            }
            REQUEST_CANCEL => continue,
            other => complain_and_exit(&format!("unknown request {other:#04x}"), 2),
        }
    }
}

fn last_os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// A pipe whose ends close on `exec`.
fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_os_error("pipe"));
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn set_nonblocking(fd: RawFd) {
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

/// The pipes between the supervisor and one run, both ends.
struct RunPipes {
    stdin: (OwnedFd, OwnedFd),
    stdout: (OwnedFd, OwnedFd),
    stderr: (OwnedFd, OwnedFd),
    /// The run's init and shell write why their set-up failed; closed on `exec`.
    failure: (OwnedFd, OwnedFd),
}

/// One side of a run's pipes: its stdin, stdout and stderr, and the failure pipe.
type PipeEnds = ([OwnedFd; 3], OwnedFd);

impl RunPipes {
    /// The supervisor's ends (the run's stdin to write, its stdout and stderr and why its
    /// set-up failed to read) and the run's (the other ends).
    fn split(self) -> (PipeEnds, PipeEnds) {
        let Self {
            stdin,
            stdout,
            stderr,
            failure,
        } = self;
        (
            ([stdin.1, stdout.0, stderr.0], failure.0),
            ([stdin.0, stdout.1, stderr.1], failure.1),
        )
    }

    /// The supervisor's ends, the run's closed: the run sees its input end, and its output
    /// ends with it.
    fn supervisor_ends(self) -> PipeEnds {
        self.split().0
    }

    /// The run's ends, the supervisor's closed.
    fn run_ends(self) -> PipeEnds {
        self.split().1
    }
}

/// Runs one request in fresh namespaces and reports how it ended; `Err` when the sandbox
/// could not be made (nothing of the request ran).
fn serve_one(options: &Options, wire: &[u8]) -> Result<Ended, String> {
    let counters = Counters::read();
    let pipes = RunPipes {
        stdin: pipe()?,
        stdout: pipe()?,
        stderr: pipe()?,
        failure: pipe()?,
    };
    let ids = unsafe { (libc::getuid(), libc::getgid()) };
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS;
    // A fork into new namespaces: the supervisor is single-threaded, so the child may go on
    // with a copy of its memory.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    } as libc::pid_t;
    if pid < 0 {
        return Err(last_os_error("cannot make the run's namespaces (clone)"));
    }
    if pid == 0 {
        run_init(options, pipes, ids);
    }
    let ([stdin, stdout, stderr], failure) = pipes.supervisor_ends();
    send(&Frame::Started);
    let ended = supervise(options, pid, wire, stdin, stdout, stderr)?;
    let mut why = String::new();
    let _ = std::fs::File::from(failure).read_to_string(&mut why);
    if !why.is_empty() {
        return Err(why);
    }
    let counted = Counters::read();
    Ok(Ended {
        oom_killed: counted.oom_kills > counters.oom_kills,
        pids_exhausted: counted.pids_refused > counters.pids_refused,
        clean: only_the_supervisor_is_left(),
        ..ended
    })
}

/// Maps the run's user and group ids to the worker's own (the only ones an unprivileged
/// process may map): PHP runs as the same user as in a single-use container. The process must
/// be dumpable to write its own maps, and is made undumpable again at once: its memory is a
/// copy of the supervisor's, whose heap held earlier runs' input and output.
/// `uid` and `gid` are the worker's, read before the namespaces were made (inside, until the
/// maps are written, they read as the overflow ids).
fn map_own_ids(uid: libc::uid_t, gid: libc::gid_t) -> Result<(), String> {
    let write = |file: &str, text: String| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/{file}"))
            .and_then(|mut map| map.write_all(text.as_bytes()))
            .map_err(|error| format!("cannot write the run's {file}: {error}"))
    };
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
    let mapped = write("uid_map", format!("{uid} {uid} 1\n"))
        .and_then(|()| write("setgroups", "deny".into()))
        .and_then(|()| write("gid_map", format!("{gid} {gid} 1\n")));
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    mapped
}

fn reap(pid: libc::pid_t) -> (i32, libc::rusage) {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid
            || (reaped < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR))
        {
            return (status, usage);
        }
    }
}

/// Feeds the run its input, forwards its output, enforces the limits, and waits for its init
/// to exit (with it, every process of the run).
fn supervise(
    options: &Options,
    pid: libc::pid_t,
    wire: &[u8],
    stdin: OwnedFd,
    stdout: OwnedFd,
    stderr: OwnedFd,
) -> Result<Ended, String> {
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
    if pidfd < 0 {
        unsafe { libc::kill(pid, libc::SIGKILL) };
        reap(pid);
        return Err(last_os_error("pidfd_open"));
    }
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    for fd in [stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()] {
        set_nonblocking(fd);
    }
    let deadline = Instant::now() + options.timeout;
    let mut run = Supervision {
        options,
        pid,
        pidfd,
        wire,
        input: Some((stdin, 0)),
        outputs: [Some(stdout), Some(stderr)],
        forwarded: [0; 2],
        exited: None,
        killed: false,
        ended: Ended::default(),
        buffer: vec![0u8; 64 * 1024],
    };
    while run.exited.is_none() || run.outputs.iter().any(Option::is_some) {
        let mut polled = run.polled();
        let wait_ms = run.wait_ms(deadline);
        let ready = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, wait_ms) };
        if ready < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            run.kill();
            return Err(last_os_error("poll"));
        }
        if ready == 0 && !run.killed {
            run.ended.timed_out = true;
            run.kill();
            continue;
        }
        for event in polled.iter().filter(|event| event.revents != 0) {
            run.ready(event.fd);
        }
    }
    Ok(run.into_ended())
}

/// One run under supervision: what of it is still open, what was forwarded, whether it ended
/// or was killed, and why.
struct Supervision<'a> {
    options: &'a Options,
    pid: libc::pid_t,
    pidfd: OwnedFd,
    /// The run's stdin, and how much of it is written.
    wire: &'a [u8],
    input: Option<(OwnedFd, usize)>,
    /// stdout and stderr, until each ends.
    outputs: [Option<OwnedFd>; 2],
    forwarded: [u64; 2],
    exited: Option<(i32, libc::rusage)>,
    killed: bool,
    ended: Ended,
    buffer: Vec<u8>,
}

impl Supervision<'_> {
    fn kill(&mut self) {
        if !self.killed {
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            self.killed = true;
        }
    }

    /// What to wait for: stdin writable, output readable, the run's end, and (until it is
    /// killed) the runner's requests: a cancel, or its end (it went away).
    fn polled(&self) -> Vec<libc::pollfd> {
        let wait = |fd: RawFd, events| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let mut polled = Vec::with_capacity(5);
        if let Some((fd, _)) = &self.input {
            polled.push(wait(fd.as_raw_fd(), libc::POLLOUT));
        }
        for fd in self.outputs.iter().flatten() {
            polled.push(wait(fd.as_raw_fd(), libc::POLLIN));
        }
        if self.exited.is_none() {
            polled.push(wait(self.pidfd.as_raw_fd(), libc::POLLIN));
            if !self.killed {
                polled.push(wait(0, libc::POLLIN));
            }
        }
        polled
    }

    /// Until the deadline; once the run is killed (or has ended), only its end is waited for.
    fn wait_ms(&self, deadline: Instant) -> i32 {
        match self.exited.is_some() || self.killed {
            true => -1,
            false => deadline
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32,
        }
    }

    /// Acts on `fd`, which poll found ready.
    fn ready(&mut self, fd: RawFd) {
        if self
            .input
            .as_ref()
            .is_some_and(|(input, _)| input.as_raw_fd() == fd)
        {
            self.feed_input();
        } else if let Some(stream) = self
            .outputs
            .iter()
            .position(|output| output.as_ref().is_some_and(|output| output.as_raw_fd() == fd))
        {
            self.forward(stream);
        } else if fd == self.pidfd.as_raw_fd() {
            self.exited = Some(reap(self.pid));
        } else if fd == 0 {
            let mut request = [0u8; 64];
            let n = unsafe { libc::read(0, request.as_mut_ptr().cast(), request.len()) };
            // A cancel, or the runner gone (then the worker ends after this run).
            let cancel = n == 0 || request[..n.max(0) as usize].contains(&REQUEST_CANCEL);
            if cancel && !self.killed {
                self.ended.cancelled = true;
                self.kill();
            }
        }
    }

    fn feed_input(&mut self) {
        let Some((fd, written)) = self.input.as_mut() else {
            return;
        };
        let rest = &self.wire[*written..];
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n > 0 {
            *written += n as usize;
        }
        // Done, or the run stopped reading (EPIPE): either way its stdin ends here.
        if *written == self.wire.len()
            || (n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN))
        {
            self.input = None;
        }
    }

    /// Forwards what stdout (0) or stderr (1) has, up to the output cap; a run over it is
    /// killed as flooding.
    fn forward(&mut self, stream: usize) {
        let Some(fd) = self.outputs[stream].as_ref().map(AsRawFd::as_raw_fd) else {
            return;
        };
        let n = unsafe { libc::read(fd, self.buffer.as_mut_ptr().cast(), self.buffer.len()) };
        if n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN)) {
            self.outputs[stream] = None;
            return;
        }
        if n < 0 {
            return;
        }
        let room = self.options.output_cap.saturating_sub(self.forwarded[stream]) as usize;
        let chunk = &self.buffer[..(n as usize).min(room)];
        if !chunk.is_empty() {
            self.forwarded[stream] += chunk.len() as u64;
            send(&match stream {
                0 => Frame::Stdout(chunk.to_vec()),
                _ => Frame::Stderr(chunk.to_vec()),
            });
        }
        if n as usize > room && !self.killed {
            self.ended.flooded = true;
            self.kill();
        }
    }

    fn into_ended(self) -> Ended {
        let (status, usage) = self.exited.expect("the run's init was reaped");
        let micros = |time: libc::timeval| time.tv_sec as u64 * 1_000_000 + time.tv_usec as u64;
        Ended {
            exit_code: match libc::WIFEXITED(status) {
                true => libc::WEXITSTATUS(status),
                false => 128 + libc::WTERMSIG(status),
            },
            cpu_us: micros(usage.ru_utime) + micros(usage.ru_stime),
            peak_rss_bytes: usage.ru_maxrss.max(0) as u64 * 1024,
            ..self.ended
        }
    }
}

/// The worker's cgroup counters that tell why a run died.
struct Counters {
    oom_kills: u64,
    pids_refused: u64,
}

impl Counters {
    fn read() -> Self {
        // cgroup v2, then v1.
        let oom_kills = [
            "/sys/fs/cgroup/memory.events",
            "/sys/fs/cgroup/memory/memory.oom_control",
        ]
        .iter()
        .find_map(|path| counter(path, "oom_kill"))
        .unwrap_or(0);
        let pids_refused = ["/sys/fs/cgroup/pids.events", "/sys/fs/cgroup/pids/pids.events"]
            .iter()
            .find_map(|path| counter(path, "max"))
            .unwrap_or(0);
        Self {
            oom_kills,
            pids_refused,
        }
    }
}

/// The value of `key` in a cgroup file of `key value` lines.
fn counter(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// True when the container's only processes are its init and this supervisor.
fn only_the_supervisor_is_left() -> bool {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().all(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        !name.bytes().all(|b| b.is_ascii_digit()) || name == "1" || name == me
    })
}

fn mount_count() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo").map_or(0, |text| text.lines().count())
}

/// The run's init (pid 1 of its namespaces): never returns.
fn run_init(options: &Options, pipes: RunPipes, (uid, gid): (libc::uid_t, libc::gid_t)) -> ! {
    let ([stdin, stdout, stderr], failure) = pipes.run_ends();
    let fail = |message: String| -> ! { fail_with(failure.as_raw_fd(), &message, 120) };
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if let Err(message) = map_own_ids(uid, gid).and_then(|()| make_mounts(options)) {
        fail(message);
    }
    let shell = unsafe { libc::fork() };
    if shell < 0 {
        fail(last_os_error("fork"));
    }
    if shell == 0 {
        let failure = failure.as_raw_fd();
        run_shell(options, [stdin, stdout, stderr], failure);
    }
    drop((stdin, stdout, stderr, failure));
    // Reap whatever ends until the shell does; its status is the run's.
    loop {
        let mut status = 0;
        let reaped = unsafe { libc::wait(&mut status) };
        if reaped == shell {
            let code = match libc::WIFEXITED(status) {
                true => libc::WEXITSTATUS(status),
                false => 128 + libc::WTERMSIG(status),
            };
            // The kernel kills every other process of the run's pid namespace now.
            unsafe { libc::_exit(code) }
        }
        if reaped < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            unsafe { libc::_exit(122) }
        }
    }
}

/// Tells the supervisor why the run's set-up failed, and exits with `code`.
fn fail_with(failure: RawFd, message: &str, code: i32) -> ! {
    unsafe {
        libc::write(failure, message.as_ptr().cast(), message.len());
        libc::_exit(code)
    }
}

fn mount(
    source: &str,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), String> {
    let c = |text: &str| CString::new(text).expect("no NUL in a mount argument");
    let (source, target_c) = (c(source), c(target));
    let fstype = fstype.map(c);
    let data = data.map(c);
    let done = unsafe {
        libc::mount(
            source.as_ptr(),
            target_c.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
            flags,
            data.as_ref().map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    match done {
        0 => Ok(()),
        _ => Err(last_os_error(&format!("cannot mount {target}"))),
    }
}

/// The run's own file system view: fresh tmpfs where it may write, a fresh `/proc` of its pid
/// namespace with the engine's masks, nothing else changed.
fn make_mounts(options: &Options) -> Result<(), String> {
    let hidden = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    // Nothing mounted here reaches the worker's own view.
    mount("none", "/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    mount(
        "tmpfs",
        "/in",
        Some("tmpfs"),
        hidden,
        Some(&format!("size={},mode=1777", options.in_bytes)),
    )?;
    mount(
        "tmpfs",
        "/tmp",
        Some("tmpfs"),
        hidden,
        Some(&format!("size={},mode=1777", options.tmp_bytes)),
    )?;
    mount("proc", "/proc", Some("proc"), hidden, None)?;
    // The message queues of the run's own IPC namespace: the worker's, which the engine mounts,
    // would keep a queue one run makes (writing a file there makes one) for the next.
    if std::fs::metadata("/dev/mqueue").is_ok_and(|metadata| metadata.is_dir()) {
        mount("mqueue", "/dev/mqueue", Some("mqueue"), hidden, None)?;
    }
    for path in MASKED {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => mount(
                "tmpfs",
                path,
                Some("tmpfs"),
                hidden | libc::MS_RDONLY,
                Some("size=4k,mode=555"),
            )?,
            Ok(_) => mount("/dev/null", path, None, libc::MS_BIND, None)?,
            Err(_) => {}
        }
    }
    for path in READ_ONLY {
        if std::fs::symlink_metadata(path).is_err() {
            continue;
        }
        mount(path, path, None, libc::MS_BIND | libc::MS_REC, None)?;
        mount(
            path,
            path,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | hidden,
            None,
        )?;
    }
    Ok(())
}

/// The run's shell: its stdio on the run's pipes, every capability and privilege gone, the
/// supervisor's system calls denied; then `exec`. Never returns.
fn run_shell(options: &Options, stdio: [OwnedFd; 3], failure: RawFd) -> ! {
    let fail = |message: String| -> ! { fail_with(failure, &message, 127) };
    for (target, fd) in stdio.iter().enumerate() {
        if unsafe { libc::dup2(fd.as_raw_fd(), target as RawFd) } < 0 {
            fail(last_os_error("dup2"));
        }
    }
    // The kernel's OOM killer takes the run, never the supervisor.
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    unsafe {
        for capability in 0..=63 {
            libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0);
        }
        libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    }
    if let Err(message) = deny_supervisor_calls() {
        fail(message);
    }
    let mut argv: Vec<*const libc::c_char> = options.command.iter().map(|arg| arg.as_ptr()).collect();
    argv.push(std::ptr::null());
    unsafe {
        extern "C" {
            static environ: *const *const libc::c_char;
        }
        libc::execve(argv[0], argv.as_ptr(), environ);
    }
    let program: &CStr = &options.command[0];
    fail(last_os_error(&format!(
        "cannot run {}",
        program.to_string_lossy()
    )))
}

/// Sets `no_new_privs` and a seccomp filter that refuses, with `EPERM`, what the worker's
/// profile allows beyond evalgrid's allowlist ([`SUPERVISOR_CALLS`]: `clone` into new
/// namespaces, `mount`) and, to be plain about it, every other call that changes namespaces
/// or mounts, traces, or reaches the kernel's keyrings.
fn deny_supervisor_calls() -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule,
    };
    let namespace_flags = [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWCGROUP,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
    ];
    let with_flag = |flag: libc::c_int| {
        let flag = flag as u64;
        SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(flag), flag)
            .and_then(|condition| SeccompRule::new(vec![condition]))
    };
    let clone_rules = namespace_flags
        .iter()
        .map(|flag| with_flag(*flag))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("seccomp rule: {error}"))?;
    let mut rules: std::collections::BTreeMap<i64, Vec<SeccompRule>> = denied_calls()
        .into_iter()
        .map(|call| (call, Vec::new()))
        .collect();
    rules.insert(libc::SYS_clone, clone_rules);
    #[cfg(target_arch = "x86_64")]
    let arch = seccompiler::TargetArch::x86_64;
    #[cfg(target_arch = "aarch64")]
    let arch = seccompiler::TargetArch::aarch64;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|error| format!("seccomp filter: {error}"))?;
    let program: BpfProgram = filter
        .try_into()
        .map_err(|error| format!("seccomp filter: {error:?}"))?;
    seccompiler::apply_filter(&program).map_err(|error| format!("cannot apply the seccomp filter: {error}"))
}

/// The calls refused outright in a run (`clone` is refused only with namespace flags).
fn denied_calls() -> Vec<i64> {
    let _covers_the_supervisor_calls = SUPERVISOR_CALLS;
    vec![
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_open_tree,
        libc::SYS_move_mount,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_mount_setattr,
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_call_the_worker_adds_is_denied_again_in_a_run() {
        let denied = super::denied_calls();
        for call in evalgrid_supervisor::SUPERVISOR_CALLS {
            let number = match *call {
                "mount" => libc::SYS_mount,
                // Refused with namespace flags by its own rules.
                "clone" => continue,
                other => panic!("{other} is added for the supervisor but never denied again"),
            };
            assert!(denied.contains(&number), "{call}");
        }
    }

    #[test]
    fn options_come_from_the_command_line() {
        let args = [
            "--timeout-ms",
            "2500",
            "--output-cap",
            "100",
            "--",
            "/bin/sh",
            "-c",
            "echo",
        ];
        let options = super::parse(args.map(str::to_owned).to_vec()).unwrap();
        assert_eq!(options.timeout.as_millis(), 2500);
        assert_eq!(options.output_cap, 100);
        assert_eq!(options.command.len(), 3);
        assert!(super::parse(vec!["--timeout-ms".into()]).is_err());
        assert!(super::parse(vec!["--bogus".into(), "1".into(), "--".into(), "x".into()]).is_err());
    }
}

//! The container definition every run uses. Everything a hostile script could use to reach out
//! or stay around is closed here; SECURITY-relevant choices are commented with their reason.

use crate::guard::labels;
use crate::{clock, seccomp, usage, RunnerConfig};
use bollard::models::{ContainerCreateBody, HostConfig, HostConfigLogConfig, ResourcesUlimits};
use std::collections::HashMap;

/// Where the snippet is written inside the container. A fixed path (instead of `php` reading
/// stdin or `/dev/stdin`) keeps `STDIN`/`STDOUT`/`STDERR` defined and makes `__FILE__` and error
/// messages read the same on every version and every run.
pub const SCRIPT_PATH: &str = "/in/main.php";

/// evalgrid's baseline, the same on every image whatever its own `php.ini`: PHP's built-in
/// defaults (what a PHP without a `php.ini` has, as every official Docker Hub image), plus
/// these display settings, so Debian-built and official images behave alike: errors shown
/// inline on stdout (as the official images do), none logged to stderr. PHP reads no `php.ini`
/// (`-c` names a directory without one) but still its image's scan directory (`conf.d`), where
/// Debian and the official images load their extensions; then these ([`BASELINE_INI`]), then a
/// run's own settings ([`RUN_INI`]), which may change them: each a file of evalgrid's scan
/// directory, [`INI_DIR`].
pub const PHP_INI: &[(&str, &str)] = &[
    ("display_errors", "1"),
    ("display_startup_errors", "1"),
    ("error_reporting", "E_ALL"),
    ("log_errors", "0"),
    ("html_errors", "0"),
    ("date.timezone", "UTC"),
    // Below the container's limit so most scripts get PHP's own readable error, not a kill.
    ("memory_limit", "96M"),
];

/// Settings no run may change, passed with `-d`, which PHP reads after every ini file: what
/// the run's own settings write into [`RUN_INI`] (a value PHP cannot parse included) cannot
/// undo them.
const LOCKED_INI: &[(&str, &str)] = &[
    // FFI reaches every libc function and so any system call; Debian's default (`preload`)
    // enables it on the command line. A script cannot turn it back on (it is PHP_INI_SYSTEM).
    ("ffi.enable", "0"),
    // Loading extensions at run time (off in Debian's php.ini, on without one).
    ("enable_dl", "0"),
];

/// The settings whose values change what a script does, which the baseline makes the same on
/// every image of a version (the engine tests check it; the version probe records them with the
/// rest). A few differ between versions, as PHP's own defaults do: `assert.exception` is 0
/// before 8.0, 7.4 has no `zend.exception_string_param_max_len`, `E_ALL` lost `E_STRICT` in 8.4
/// and 8.5 turned `register_argc_argv` off.
pub const BEHAVIOUR_INI: &[&str] = &[
    "zend.assertions",
    "assert.exception",
    "zend.exception_ignore_args",
    "zend.exception_string_param_max_len",
    "short_open_tag",
    "precision",
    "serialize_precision",
    "error_reporting",
    "display_errors",
    "display_startup_errors",
    "log_errors",
    "html_errors",
    "default_charset",
    "output_buffering",
    "implicit_flush",
    "max_execution_time",
    "register_argc_argv",
    "variables_order",
    "request_order",
    "date.timezone",
    "memory_limit",
    "enable_dl",
];

/// Where PHP looks for a `php.ini` (`php -c`): none is there, so the image's is not read. It
/// is also the last directory PHP scans for more ini files (`PHP_INI_SCAN_DIR`, after the
/// image's own), where evalgrid writes the baseline and the run's settings, in that order.
/// Each file is parsed on its own: a value PHP cannot parse spoils only the rest of its file.
const INI_DIR: &str = "/in";

/// The baseline's settings ([`PHP_INI`]), read after the image's `conf.d` ...
const BASELINE_INI: &str = "/in/0-evalgrid.ini";

/// ... and then the run's own (its ini variant).
const RUN_INI: &str = "/in/1-run.ini";

/// Where the script's stdin text is written; PHP's `STDIN` reads this file.
const STDIN_PATH: &str = "/in/stdin";

/// The tmpfs that receives the script: small, not executable, owned by nobody in particular.
const INPUT_DIR: &str = "/in";

/// Its size.
const INPUT_BYTES: u64 = 1024 * 1024;

/// The shell that reads a run's input ([`crate::Script::wire`]) from stdin with builtins and
/// `cat` only: the header, the stdin text line by line, the code to the end; then sets the
/// fixed clock when asked for and present, and runs PHP. No user data ever appears in argv or
/// env: the clock is digits the runner wrote.
pub(crate) fn command() -> Vec<String> {
    let baseline: String = PHP_INI
        .iter()
        .map(|(key, value)| format!(" '{key}={value}'"))
        .collect();
    let locked: String = LOCKED_INI
        .iter()
        .map(|(key, value)| format!(" -d {key}={value}"))
        .collect();
    // A leading ':' keeps the image's compiled-in scan directory; one the image's environment
    // names is kept too.
    let ini = format!(" -c {INI_DIR}{locked}");
    let php_env = format!("PHP_INI_SCAN_DIR=\"${{PHP_INI_SCAN_DIR}}:{INI_DIR}\"");
    // The opcodes modes compile the script without running it (command-line code is never
    // cached, so only the script's own opcodes are dumped) and show the dump, which PHP writes
    // to stderr, as stdout.
    let php = format!(
        "case $m in \
           -) {php_env} php{ini} {SCRIPT_PATH} < {STDIN_PATH};; \
           l) {php_env} php{ini} -l {SCRIPT_PATH} < {STDIN_PATH};; \
           *) x=; l=0x20000; \
              case $m in [AB]) x='-d zend_extension=opcache';; esac; \
              case $m in [bB]) l=0x10000;; esac; \
              {php_env} php{ini} $x -d opcache.enable_cli=1 -d opcache.file_update_protection=0 \
                -d opcache.opt_debug_level=$l -r 'opcache_compile_file(\"{SCRIPT_PATH}\");' \
                < {STDIN_PATH} 2>&1;; \
         esac"
    );
    let library = clock::LIBRARY_PATH;
    let script = format!(
        "read -r n p t m k || exit; i=0; \
         {{ while [ $i -lt $n ]; do IFS= read -r l || exit; printf '%s\\n' \"$l\"; i=$((i+1)); done; \
           [ \"$p\" = 0 ] || {{ IFS= read -r l; printf '%s' \"$l\"; }}; }} > {STDIN_PATH} || exit; \
         printf '%s\\n'{baseline} > {BASELINE_INI} || exit; \
         j=0; while [ $j -lt $k ]; do IFS= read -r d || exit; printf '%s\\n' \"$d\"; j=$((j+1)); done > {RUN_INI} || exit; \
         cat > {SCRIPT_PATH} || exit; \
         [ \"$t\" = - ] || [ ! -r {library} ] || export LD_PRELOAD={library} EVALGRID_CLOCK=$t; \
         {}",
        usage::wrap(&php)
    );
    vec!["/bin/sh".into(), "-c".into(), script]
}

/// Everything besides the code and the image that shapes a result: the command (with its ini
/// settings) and every limit (the whole struct, so none can be left out). Results cached under
/// one fingerprint are not valid under another.
pub(crate) fn fingerprint(config: &RunnerConfig) -> String {
    format!("{:?} {:?}", command(), config.limits)
}

fn ulimit(name: &str, value: i64) -> ResourcesUlimits {
    ResourcesUlimits {
        name: Some(name.into()),
        soft: Some(value),
        hard: Some(value),
    }
}

/// The full create body for one run of `image_id`, as user and group `uid` (one no other live
/// container has, and no account on the host or in the image: see [`crate::slots`]); with the
/// fixed clock's volume, read-only, when `clock`.
pub(crate) fn container_body(
    config: &RunnerConfig,
    image_id: &str,
    uid: u32,
    clock: bool,
) -> ContainerCreateBody {
    let tmpfs = HashMap::from([
        (
            INPUT_DIR.to_owned(),
            format!("rw,noexec,nosuid,nodev,size={INPUT_BYTES},mode=1777"),
        ),
        (
            "/tmp".to_owned(),
            format!(
                "rw,noexec,nosuid,nodev,size={},mode=1777",
                config.limits.tmp_bytes
            ),
        ),
        // An empty, read-only directory over the container's devpts: no pseudo-terminals
        // (/dev/ptmx points into it), whose number is limited host-wide.
        (
            "/dev/pts".to_owned(),
            "ro,noexec,nosuid,nodev,size=4k,mode=555".to_owned(),
        ),
    ]);
    ContainerCreateBody {
        image: Some(image_id.to_owned()),
        cmd: Some(command()),
        user: Some(format!("{uid}:{uid}")),
        // No working_dir: Docker would create it over the tmpfs and lose its 1777 mode.
        labels: Some(labels(config)),
        // stdin stays open until the code is written and closed, then PHP starts.
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(false),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            readonly_rootfs: Some(true),
            tmpfs: Some(tmpfs),
            mounts: clock.then(|| vec![clock::TOOL.mount()]),
            // Without a private, empty IPC namespace /dev/shm would stay writable.
            ipc_mode: Some("none".into()),
            memory: Some(config.limits.memory_bytes),
            memory_swap: Some(config.limits.memory_bytes),
            pids_limit: Some(config.limits.pids_limit),
            nano_cpus: Some(config.limits.nano_cpus),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec![
                "no-new-privileges".into(),
                format!("seccomp={}", seccomp::profile()),
            ]),
            ulimits: Some(vec![
                ulimit("nofile", 256),
                // Above /tmp's size, so a full /tmp is ENOSPC (a PHP warning), not SIGXFSZ.
                ulimit("fsize", (config.limits.tmp_bytes + 1024 * 1024) as i64),
                ulimit("core", 0),
            ]),
            // PHP as PID 1 would ignore SIGTERM; tini forwards signals and reaps forks.
            init: Some(true),
            // json-file would copy all output to the engine's disk.
            log_config: Some(HostConfigLogConfig {
                typ: Some("none".into()),
                config: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The create body of a worker of `image_id` (see [`crate::worker`]): the single-use
/// container's sandbox, with evalgrid's supervisor as its main process, which runs the same
/// command for each run in fresh namespaces, on fresh mounts of `/in` and `/tmp` of the same
/// sizes (the container's own are read-only mount points).
pub(crate) fn worker_body(
    config: &RunnerConfig,
    image_id: &str,
    uid: u32,
    clock: bool,
) -> ContainerCreateBody {
    let mut body = container_body(config, image_id, uid, clock);
    let mut cmd: Vec<String> = vec![
        crate::supervisor::TOOL.path(),
        "--timeout-ms".into(),
        config.limits.timeout.as_millis().to_string(),
        "--output-cap".into(),
        (config.limits.output_limit + usage::LINE_ROOM).to_string(),
        "--tmp-bytes".into(),
        config.limits.tmp_bytes.to_string(),
        "--in-bytes".into(),
        INPUT_BYTES.to_string(),
        "--".into(),
    ];
    cmd.extend(command());
    body.cmd = Some(cmd);
    let host = body.host_config.as_mut().expect("a host config");
    if let Some(tmpfs) = host.tmpfs.as_mut() {
        for place in [INPUT_DIR, "/tmp"] {
            tmpfs.insert(
                place.to_owned(),
                "ro,noexec,nosuid,nodev,size=4k,mode=555".to_owned(),
            );
        }
    }
    host.mounts
        .get_or_insert_with(Vec::new)
        .push(crate::supervisor::TOOL.mount());
    // The supervisor, its init and the run's init are processes of the container too.
    host.pids_limit = Some(config.limits.pids_limit + 3);
    host.security_opt = Some(vec![
        "no-new-privileges".into(),
        format!("seccomp={}", seccomp::worker_profile()),
    ]);
    // Unmasked, so that a run may mount a /proc of its own pid namespace (the kernel refuses
    // one while parts of the container's are hidden); the supervisor hides the same paths
    // again in every run's /proc, and nothing but the supervisor sees the container's.
    host.masked_paths = Some(Vec::new());
    host.readonly_paths = Some(Vec::new());
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SandboxLimits;

    #[test]
    fn every_limit_is_in_the_fingerprint_and_nothing_that_leaves_results_alone_is() {
        let base = RunnerConfig::default();
        let with = |limits: SandboxLimits| {
            fingerprint(&RunnerConfig {
                limits,
                ..base.clone()
            })
        };
        let defaults = SandboxLimits::default;
        let changed = [
            with(SandboxLimits {
                timeout: std::time::Duration::from_secs(3),
                ..defaults()
            }),
            with(SandboxLimits {
                memory_bytes: 1 << 30,
                ..defaults()
            }),
            with(SandboxLimits {
                pids_limit: 7,
                ..defaults()
            }),
            with(SandboxLimits {
                nano_cpus: 2,
                ..defaults()
            }),
            with(SandboxLimits {
                output_limit: 9,
                ..defaults()
            }),
            with(SandboxLimits {
                tmp_bytes: 11,
                ..defaults()
            }),
        ];
        for (index, other) in changed.iter().enumerate() {
            assert_ne!(*other, fingerprint(&base), "limit {index}");
        }
        let elsewhere = RunnerConfig {
            instance_id: "another".into(),
            max_containers: 99,
            pool_size: 0,
            ..base.clone()
        };
        assert_eq!(fingerprint(&elsewhere), fingerprint(&base));
    }
}

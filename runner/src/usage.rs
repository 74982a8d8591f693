//! The shell around PHP reports how PHP ended: its exit status, and its CPU time and peak memory
//! as the kernel counts them for the container's cgroup (v2 or v1).
//!
//! The cgroup is gone by the time the engine reports the exit, so the container measures
//! itself: the shell that starts PHP reads the cgroup's CPU counter before and after PHP and the
//! cgroup's peak memory after it. It then ends stdout with [`STDOUT_END`] and stderr with a
//! report line. Each stream keeps its own order (the two do not keep order between them), so
//! once both end with the shell's lines, everything PHP wrote has arrived and the run is over:
//! the runner does not wait for the engine to notice the exit, which takes it tens of
//! milliseconds more. The runner strips both lines; the user never sees them. Only shell
//! builtins are used (no fork), so the report costs nothing measurable.
//!
//! A script can print the same lines itself. That only misreports its own result (it ends the
//! run early, with its own numbers); the container is removed all the same.

/// The last line the shell writes to stdout.
const STDOUT_END: &[u8] = b"\x1eevalgrid-end\n";

/// Starts the last line the shell writes to stderr.
const MARKER: &[u8] = b"\x1eevalgrid-usage ";

/// Room kept on top of each stream's limit for the shell's line (marker, four 20-digit
/// numbers, spaces, newline), so a script just under the limit still gets its report.
pub(crate) const LINE_ROOM: usize = 128;

/// Shell code (POSIX sh, builtins only) that runs `php` and reports how it went. `php` is the
/// full php command line; `exit` keeps PHP's exit status (128 + signal when it was killed).
pub(crate) fn wrap(php: &str) -> String {
    // n = the cgroup's CPU time in ns: v2 cpu.stat usage_usec, v1 cpuacct.usage.
    format!(
        "g=/sys/fs/cgroup; \
         cpu() {{ n=; \
           if [ -r $g/cpu.stat ]; then \
             while read -r k v; do [ \"$k\" = usage_usec ] && n=${{v}}000; done < $g/cpu.stat; \
           elif [ -r $g/cpuacct/cpuacct.usage ]; then read -r n < $g/cpuacct/cpuacct.usage; fi; }}; \
         cpu; c=$n; \
         {php}; s=$?; \
         cpu; m=; \
         for f in $g/memory.peak $g/memory/memory.max_usage_in_bytes; do \
           [ -r $f ] && read -r m < $f && break; done; \
         printf '\\036evalgrid-end\\n'; \
         printf '\\036evalgrid-usage %s %s %s %s\\n' $s \"$c\" \"$n\" \"$m\" >&2; \
         exit $s"
    )
}

/// What the kernel measured for one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time (user + system) PHP and every process it started used, in microseconds:
    /// the difference of the container cgroup's counter across PHP's run.
    pub cpu_time_us: Option<u64>,
    /// The container cgroup's peak memory in bytes (PHP's memory plus the page cache it touched
    /// and the small shell around it), over the container's whole life.
    pub peak_memory_bytes: Option<u64>,
}

/// How PHP ended, as the shell saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Report {
    /// PHP's exit status; 128 + n when signal n killed it.
    pub(crate) exit_code: i64,
    pub(crate) usage: Usage,
}

/// The lines the shell ends stdout and stderr with, for a PHP that exited with `exit_code` after
/// using `cpu_us` of CPU and `peak` bytes (for engines in memory that stand in for the shell).
#[cfg(test)]
pub(crate) fn closing_lines(exit_code: i64, cpu_us: u64, peak: u64) -> (Vec<u8>, Vec<u8>) {
    let mut stderr = MARKER.to_vec();
    stderr.extend(format!("{exit_code} 0 {}000 {peak}\n", cpu_us).bytes());
    (STDOUT_END.to_vec(), stderr)
}

/// True once both streams end with the shell's lines. Cheap: looks at the tails only.
pub(crate) fn complete(stdout: &[u8], stderr: &[u8]) -> bool {
    stdout.ends_with(STDOUT_END) && stderr.ends_with(b"\n") && {
        let tail = &stderr[stderr.len().saturating_sub(LINE_ROOM)..];
        report_start(tail).is_some_and(|start| parse(&tail[start + MARKER.len()..]).is_some())
    }
}

/// Takes the shell's lines off the ends of both streams, if they are there, and returns the
/// report. Anything else (a line a script printed mid-stream, a cut stream) is left in place.
pub(crate) fn take(stdout: &mut Vec<u8>, stderr: &mut Vec<u8>) -> Option<Report> {
    if stdout.ends_with(STDOUT_END) {
        stdout.truncate(stdout.len() - STDOUT_END.len());
    }
    let start = report_start(stderr)?;
    let report = parse(&stderr[start + MARKER.len()..])?;
    stderr.truncate(start);
    Some(report)
}

fn report_start(stderr: &[u8]) -> Option<usize> {
    stderr.windows(MARKER.len()).rposition(|window| window == MARKER)
}

/// `<status> <cpu before> <cpu after> <peak>\n`; the last three may be empty.
fn parse(line: &[u8]) -> Option<Report> {
    let line = std::str::from_utf8(line).ok()?.strip_suffix('\n')?;
    let fields: Vec<&str> = line.split(' ').collect();
    let [status, before, after, peak] = fields[..] else {
        return None;
    };
    let number = |text: &str| text.parse::<u64>().ok();
    if [before, after, peak]
        .iter()
        .any(|field| !field.is_empty() && number(field).is_none())
    {
        return None;
    }
    Some(Report {
        exit_code: status.parse().ok()?,
        usage: Usage {
            cpu_time_us: number(after)
                .zip(number(before))
                .map(|(after, before)| after.saturating_sub(before) / 1000),
            peak_memory_bytes: number(peak),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(stdout: &str, stderr: &str) -> (Option<Report>, String, String) {
        let (mut out, mut err) = (stdout.as_bytes().to_vec(), stderr.as_bytes().to_vec());
        let report = take(&mut out, &mut err);
        (
            report,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn the_shell_lines_are_parsed_and_removed() {
        let stdout = "hi\x1eevalgrid-end\n";
        let stderr = "warning\n\x1eevalgrid-usage 3 1000000 31000000 7340032\n";
        assert!(complete(stdout.as_bytes(), stderr.as_bytes()));
        let (report, out, err) = taken(stdout, stderr);
        let usage = Usage {
            cpu_time_us: Some(30_000),
            peak_memory_bytes: Some(7_340_032),
        };
        assert_eq!(report, Some(Report { exit_code: 3, usage }));
        assert_eq!((out.as_str(), err.as_str()), ("hi", "warning\n"));
    }

    #[test]
    fn missing_counters_give_none_for_that_measure() {
        let (report, _, err) = taken("\x1eevalgrid-end\n", "\x1eevalgrid-usage 0   \n");
        assert_eq!(report.unwrap().usage, Usage::default());
        assert_eq!(err, "");
    }

    #[test]
    fn a_run_is_complete_only_when_both_streams_have_ended() {
        let report = b"\x1eevalgrid-usage 0 1 2 3\n";
        assert!(!complete(b"output", report), "stdout may still be on its way");
        assert!(
            !complete(b"\x1eevalgrid-end\n", b"error"),
            "stderr may still be on its way"
        );
        assert!(!complete(b"\x1eevalgrid-end\n", b"\x1eevalgrid-usage 0 1 2"));
        assert!(complete(b"\x1eevalgrid-end\n", report));
    }

    #[test]
    fn a_line_printed_by_the_script_earlier_is_output() {
        let forged = "\x1eevalgrid-usage 0 0 999999999999 1\n";
        let real = "\x1eevalgrid-usage 0 5000 10000 2048\n";
        let (report, _, err) = taken("\x1eevalgrid-end\n", &format!("{forged}{real}"));
        assert_eq!(report.unwrap().usage.peak_memory_bytes, Some(2048));
        assert_eq!(err, forged);
    }

    #[test]
    fn anything_else_is_left_alone() {
        for stderr in [
            "",
            "plain error\n",
            "\x1eevalgrid-usage 0 1 2 3",
            "\x1eevalgrid-usage 0 1 2 3\nmore\n",
            "\x1eevalgrid-usage 0 a b c\n",
            "\x1eevalgrid-usage x 1 2 3\n",
            "\x1eevalgrid-usage 0 1 2\n",
        ] {
            let (report, _, err) = taken("", stderr);
            assert_eq!((report, err.as_str()), (None, stderr), "{stderr:?}");
        }
    }
}

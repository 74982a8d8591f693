//! CPU time and peak memory of a run, as the kernel counts them for the container's cgroup.
//!
//! The cgroup is gone by the time the engine reports the exit, so the container measures
//! itself: the shell that starts PHP reads the cgroup's CPU counter before and after PHP and the
//! cgroup's peak memory after it, and prints them as the last line of stderr behind a marker.
//! The runner strips that line, so the user never sees it. Only shell builtins are used (no
//! fork), so the measurement adds nothing to the run. cgroup v2 and v1 are both read.

/// Starts the line the shell appends to stderr. A script can print the same text, but the
/// shell's line comes after everything PHP wrote, and only the last one counts.
const MARKER: &[u8] = b"\x1eevalgrid-usage ";

/// The longest line the shell can append (three 20-digit numbers, spaces, newline): room kept
/// on top of the stderr limit so a script just under it still gets measured.
pub(crate) const LINE_ROOM: usize = 80;

/// Shell code (POSIX sh, builtins only) that runs `php` and reports its usage. `$php` is the
/// full php command line; `exit` keeps PHP's exit code (or 128+signal).
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
         printf '\\036evalgrid-usage %s %s %s\\n' \"$c\" \"$n\" \"$m\" >&2; \
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

/// Takes the usage line off the end of `stderr`, if the shell wrote one, and parses it.
/// Anything else (a line a script printed itself, a cut stream) is left in place.
pub(crate) fn take(stderr: &mut Vec<u8>) -> Option<Usage> {
    let start = stderr
        .windows(MARKER.len())
        .rposition(|window| window == MARKER)?;
    let line = std::str::from_utf8(&stderr[start + MARKER.len()..]).ok()?;
    let fields: Vec<&str> = line.strip_suffix('\n')?.split(' ').collect();
    let [before, after, peak] = fields[..] else {
        return None;
    };
    let number = |text: &str| text.parse::<u64>().ok();
    if [before, after, peak]
        .iter()
        .any(|field| !field.is_empty() && number(field).is_none())
    {
        return None;
    }
    let usage = Usage {
        cpu_time_us: number(after)
            .zip(number(before))
            .map(|(after, before)| after.saturating_sub(before) / 1000),
        peak_memory_bytes: number(peak),
    };
    stderr.truncate(start);
    Some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(stderr: &str) -> (Option<Usage>, String) {
        let mut bytes = stderr.as_bytes().to_vec();
        let usage = take(&mut bytes);
        (usage, String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn the_shell_line_is_parsed_and_removed() {
        let (usage, rest) = taken("warning\n\x1eevalgrid-usage 1000000 31000000 7340032\n");
        assert_eq!(
            usage,
            Some(Usage {
                cpu_time_us: Some(30_000),
                peak_memory_bytes: Some(7_340_032)
            })
        );
        assert_eq!(rest, "warning\n");
    }

    #[test]
    fn missing_counters_give_none_for_that_measure() {
        let (usage, rest) = taken("\x1eevalgrid-usage   \n");
        assert_eq!(usage, Some(Usage::default()));
        assert_eq!(rest, "");
    }

    #[test]
    fn a_line_printed_by_the_script_is_not_the_measurement() {
        let forged = "\x1eevalgrid-usage 0 999999999999 1\n";
        let real = "\x1eevalgrid-usage 5000 10000 2048\n";
        let (usage, rest) = taken(&format!("{forged}{real}"));
        assert_eq!(usage.unwrap().peak_memory_bytes, Some(2048));
        assert_eq!(rest, forged);
    }

    #[test]
    fn anything_else_is_left_alone() {
        for stderr in [
            "",
            "plain error\n",
            "\x1eevalgrid-usage 1 2 3",
            "\x1eevalgrid-usage 1 2 3\nmore\n",
            "\x1eevalgrid-usage a b c\n",
            "\x1eevalgrid-usage 1 2\n",
        ] {
            assert_eq!(taken(stderr), (None, stderr.to_owned()), "{stderr:?}");
        }
    }
}

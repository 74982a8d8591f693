//! PHP's release branches and the day each one's security support ends, so that the version
//! picker can say which branches are end of life and tick the supported ones.
//!
//! Copied by hand from php.net's "Supported Versions" and "Unsupported Branches" pages as they
//! read on [`WRITTEN`] (since the release-cycle RFC of 2024 a branch's support ends on 31
//! December). A branch newer than the table (a pre-release of the next one) counts as
//! supported; one older than it as end of life. Update the table when a branch is released.

/// The day this table was last checked against php.net.
pub const WRITTEN: &str = "2026-11-27";

/// Branch and the last day of its security support (ISO dates), oldest first.
pub const BRANCHES: &[(&str, &str)] = &[
    ("5.6", "2018-12-31"),
    ("7.0", "2019-01-10"),
    ("7.1", "2019-12-01"),
    ("7.2", "2020-11-30"),
    ("7.3", "2021-12-06"),
    ("7.4", "2022-11-28"),
    ("8.0", "2023-11-26"),
    ("8.1", "2025-12-31"),
    ("8.2", "2026-12-31"),
    ("8.3", "2027-12-31"),
    ("8.4", "2028-12-31"),
    ("8.5", "2029-12-31"),
];

/// Where a branch stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Support {
    /// Still gets security fixes, until this day (`None`: newer than the table).
    Supported { until: Option<&'static str> },
    /// No fixes any more since this day (`None`: older than the table).
    EndOfLife { since: Option<&'static str> },
}

impl Support {
    pub fn is_end_of_life(self) -> bool {
        matches!(self, Support::EndOfLife { .. })
    }

    /// A sentence for a tooltip.
    pub fn describe(self) -> String {
        let source = format!("(php.net, as of {WRITTEN})");
        match self {
            Support::Supported { until: Some(day) } => format!("Security fixes until {day} {source}"),
            Support::Supported { until: None } => format!("Newer than the support table {source}"),
            Support::EndOfLife { since: Some(day) } => {
                format!("End of life: no security fixes since {day} {source}")
            }
            Support::EndOfLife { since: None } => format!("End of life {source}"),
        }
    }
}

/// The release branch of a PHP version: `8.4.27` → `8.4`, `8.5.0RC3` → `8.5`; `None` for
/// what is not a version.
pub fn branch_of(php_version: &str) -> Option<String> {
    let mut parts = php_version.split('.');
    let major = parts
        .next()
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    (!minor.is_empty()).then(|| format!("{major}.{minor}"))
}

/// Where `branch` (`8.4`) stands on `today` (an ISO date, `2026-11-27`).
pub fn support(branch: &str, today: &str) -> Support {
    let number = |branch: &str| -> (u32, u32) {
        let (major, minor) = branch.split_once('.').unwrap_or((branch, "0"));
        (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
    };
    match BRANCHES.iter().find(|(b, _)| *b == branch) {
        // The last day itself is still supported.
        Some((_, last)) if today <= *last => Support::Supported { until: Some(last) },
        Some((_, last)) => Support::EndOfLife { since: Some(last) },
        None if number(branch) > number(BRANCHES[BRANCHES.len() - 1].0) => Support::Supported { until: None },
        None => Support::EndOfLife { since: None },
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the browser's clock in the page and the system's
/// on the server.
pub fn today() -> String {
    #[cfg(target_arch = "wasm32")]
    let millis = js_sys::Date::now() as i64;
    #[cfg(not(target_arch = "wasm32"))]
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    iso_date(millis.div_euclid(86_400_000))
}

/// The civil date of a day counted from 1970-01-01, so that the page needs no date crate.
fn iso_date(days: i64) -> String {
    let (year, month, day) = spec::civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_are_read_from_every_version_shape() {
        assert_eq!(branch_of("8.4.27").as_deref(), Some("8.4"));
        assert_eq!(branch_of("8.5.0RC3").as_deref(), Some("8.5"));
        assert_eq!(branch_of("8.10.1").as_deref(), Some("8.10"));
        assert_eq!(branch_of("7.4.33-dev").as_deref(), Some("7.4"));
        assert_eq!(branch_of("latest"), None);
        assert_eq!(branch_of("8"), None);
    }

    #[test]
    fn support_ends_after_the_last_day_of_the_branch() {
        assert!(!support("8.1", "2025-12-31").is_end_of_life());
        assert_eq!(
            support("8.1", "2026-01-01"),
            Support::EndOfLife {
                since: Some("2025-12-31")
            }
        );
        assert_eq!(
            support("8.2", "2026-11-27"),
            Support::Supported {
                until: Some("2026-12-31")
            }
        );
        assert!(support("7.4", "2026-11-27").is_end_of_life());
        assert!(support("8.0", "2026-11-27").is_end_of_life());
    }

    #[test]
    fn branches_outside_the_table_are_judged_by_their_place() {
        assert_eq!(support("8.6", "2026-11-27"), Support::Supported { until: None });
        assert_eq!(support("9.0", "2026-11-27"), Support::Supported { until: None });
        assert_eq!(support("5.5", "2026-11-27"), Support::EndOfLife { since: None });
    }

    #[test]
    fn the_table_is_in_order_and_dated() {
        for pair in BRANCHES.windows(2) {
            assert!(pair[0].1 < pair[1].1, "{pair:?}");
        }
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(20_784), "2026-11-27");
        assert_eq!(iso_date(-1), "1969-12-31");
        assert_eq!(iso_date(11_016), "2000-02-29");
        assert!(today().as_str() >= WRITTEN);
    }
}

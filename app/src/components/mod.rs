//! The page's components, each named after what it shows.

mod build_difference;
mod code_editor;
mod code_links;
mod compare_views;
mod embed_page;
mod ini_variants;
mod output_stream;
mod performance_table;
mod playground;
mod result_grid;
mod run_state;
mod run_summary;
mod share_link;
mod snippet_page;
mod theme_switch;
mod version_picker;

pub use crate::page_address::ResultView;
pub use code_editor::CodeEditor;
pub use code_links::{reported_lines, LineRequests, OutputText};
pub use compare_views::{GroupedResults, OutputDiff, ResultToolbar};
pub use embed_page::EmbedPage;
pub use output_stream::{CopyButton, OutputStream, WithoutScripts};
pub use performance_table::PerformanceTable;
pub use playground::Playground;
pub use result_grid::{ResultCell, ResultGrid};
pub use run_summary::RunSummary;
pub use share_link::ShareLink;
pub use snippet_page::SnippetPage;
pub use theme_switch::{Theme, ThemeScript, ThemeSwitch};
pub use version_picker::{VersionPicker, VersionSelection};

/// "850 ms" below a second, "1.02 s" above.
pub fn format_duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", fixed(ms, 0))
    } else {
        format!("{} s", fixed(ms / 1000.0, 2))
    }
}

/// "640 KiB", "7.3 MiB".
pub fn format_bytes(bytes: f64) -> String {
    if bytes < 1024.0 * 1024.0 {
        format!("{} KiB", fixed(bytes / 1024.0, 0))
    } else {
        format!("{} MiB", fixed(bytes / (1024.0 * 1024.0), 1))
    }
}

/// `value` (not negative) with `decimals` digits after the point, rounded: `fixed(1.015, 2)`
/// is "1.02". Integer arithmetic, because Rust's float formatting (`{:.2}`) brings about 15 KB
/// of code into the page's WASM.
pub fn fixed(value: f64, decimals: u32) -> String {
    let scale = 10_u64.pow(decimals);
    let scaled = (value.max(0.0) * scale as f64 + 0.5) as u64;
    match decimals {
        0 => scaled.to_string(),
        _ => format!(
            "{}.{:0width$}",
            scaled / scale,
            scaled % scale,
            width = decimals as usize
        ),
    }
}

/// Where CPU time and peak memory come from, for tooltips.
pub const USAGE_SOURCE: &str = "Counted by the kernel for the version's container (its cgroup): \
PHP and every process it started; memory includes the page cache it touched.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_rounded_to_their_decimals() {
        assert_eq!(format_duration(849.6), "850 ms");
        assert_eq!(format_duration(1020.0), "1.02 s");
        assert_eq!(format_duration(61_005.0), "61.01 s");
        assert_eq!(format_bytes(655_360.0), "640 KiB");
        assert_eq!(format_bytes(7.3 * 1024.0 * 1024.0), "7.3 MiB");
        assert_eq!(fixed(0.04, 1), "0.0");
        assert_eq!(fixed(99.96, 1), "100.0");
    }
}

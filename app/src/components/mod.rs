//! The page's components, each named after what it shows.

mod code_editor;
mod code_links;
mod compare_views;
mod output_stream;
mod performance_table;
mod playground;
mod result_grid;
mod run_summary;
mod share_link;
mod snippet_page;
mod theme_switch;
mod version_picker;

pub use crate::page_address::ResultView;
pub use code_editor::CodeEditor;
pub use code_links::{reported_lines, LineRequests, OutputText};
pub use compare_views::{GroupedResults, OutputDiff, ResultToolbar};
pub use output_stream::{CopyButton, OutputStream};
pub use performance_table::PerformanceTable;
pub use playground::Playground;
pub use result_grid::{ResultCell, ResultGrid};
pub use run_summary::RunSummary;
pub use share_link::ShareLink;
pub use snippet_page::SnippetPage;
pub use theme_switch::{ThemeScript, ThemeSwitch};
pub use version_picker::{VersionPicker, VersionSelection};

/// "850 ms" below a second, "1.02 s" above.
pub fn format_duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// "640 KiB", "7.3 MiB".
pub fn format_bytes(bytes: f64) -> String {
    if bytes < 1024.0 * 1024.0 {
        format!("{:.0} KiB", bytes / 1024.0)
    } else {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    }
}

/// Where CPU time and peak memory come from, for tooltips.
pub const USAGE_SOURCE: &str = "Counted by the kernel for the version's container (its cgroup): \
PHP and every process it started; memory includes the page cache it touched.";

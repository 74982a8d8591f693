//! The page's components, each named after what it shows.

mod code_editor;
mod compare_views;
mod playground;
mod result_grid;
mod run_summary;
mod version_picker;

pub use code_editor::CodeEditor;
pub use compare_views::{GroupedResults, OutputDiff, ResultToolbar, ResultView};
pub use playground::Playground;
pub use result_grid::{ResultCell, ResultGrid};
pub use run_summary::RunSummary;
pub use version_picker::VersionPicker;

/// "850 ms" below a second, "1.02 s" above.
pub fn format_duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

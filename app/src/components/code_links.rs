//! Errors link to code: "on line 3", "/in/main.php:3" and "/in/main.php(3)" in an output are
//! buttons that show that line in the editor, and the editor marks in its gutter every line that
//! some version's output names.

use crate::model::{ImageInfo, VersionResult};
use leptos::either::Either;
use leptos::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Where the runner puts the code (runner::sandbox::SCRIPT_PATH), as PHP names it in messages.
const SCRIPT_PATH: &str = "/in/main.php";

/// Requests to show a line of the code, from the outputs to the editor (through context: they
/// are not each other's children).
#[derive(Clone, Copy)]
pub struct LineRequests(RwSignal<Option<u32>>);

impl LineRequests {
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    /// Asks the editor to show line `line` (1-based). Asking twice for the same line shows it
    /// twice.
    pub fn show(&self, line: u32) {
        self.0.set(Some(line));
    }

    /// The line asked for last; reading it subscribes.
    pub fn requested(&self) -> Option<u32> {
        self.0.get()
    }
}

impl Default for LineRequests {
    fn default() -> Self {
        Self::new()
    }
}

/// An output with its line references as buttons; as text on a page without an editor to show
/// them in (no [`LineRequests`]: the embed).
#[component]
pub fn OutputText(text: String) -> impl IntoView {
    let requests = use_context::<LineRequests>();
    split_line_references(&text)
        .into_iter()
        .map(|part| match part {
            OutputPart::Text(text) => Either::Left(text.to_owned()),
            OutputPart::Line { text, .. } if requests.is_none() => Either::Left(text.to_owned()),
            OutputPart::Line { text, line } => Either::Right(view! {
                <button
                    type="button"
                    class="line-link"
                    title=format!("Show line {line} in the editor")
                    on:click=move |_| {
                        if let Some(requests) = requests {
                            requests.show(line);
                        }
                    }
                >
                    {text.to_owned()}
                </button>
            }),
        })
        .collect_view()
}

/// For the editor's gutter: each line that some version's output names, with a tooltip saying
/// which versions, in version order.
pub fn reported_lines(
    versions: &[ImageInfo],
    results: &HashMap<String, VersionResult>,
) -> Vec<(u32, String)> {
    let mut reporters = BTreeMap::<u32, Vec<&str>>::new();
    for info in versions {
        let Some(result) = results.get(&info.image) else {
            continue;
        };
        let mut lines: Vec<u32> = [&result.outcome.stdout, &result.outcome.stderr]
            .into_iter()
            .flat_map(|output| split_line_references(output))
            .filter_map(|part| match part {
                OutputPart::Line { line, .. } => Some(line),
                OutputPart::Text(_) => None,
            })
            .collect();
        lines.sort_unstable();
        lines.dedup();
        for line in lines {
            reporters.entry(line).or_default().push(&info.php_version);
        }
    }
    reporters
        .into_iter()
        .map(|(line, versions)| (line, format!("Line {line}, named by PHP {}", versions.join(", "))))
        .collect()
}

#[derive(Debug, PartialEq)]
enum OutputPart<'a> {
    Text(&'a str),
    /// A reference to a line of the code, e.g. "on line 3".
    Line {
        text: &'a str,
        line: u32,
    },
}

fn split_line_references(output: &str) -> Vec<OutputPart<'_>> {
    let mut parts = Vec::new();
    let mut rest = output;
    while let Some((start, end, line)) = first_line_reference(rest) {
        if start > 0 {
            parts.push(OutputPart::Text(&rest[..start]));
        }
        parts.push(OutputPart::Line {
            text: &rest[start..end],
            line,
        });
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        parts.push(OutputPart::Text(rest));
    }
    parts
}

/// Start, end and line number of the first line reference in `text`.
fn first_line_reference(text: &str) -> Option<(usize, usize, u32)> {
    let script_colon = format!("{SCRIPT_PATH}:");
    let script_paren = format!("{SCRIPT_PATH}(");
    let forms = [
        ("on line ", ""),
        (script_colon.as_str(), ""),
        (script_paren.as_str(), ")"),
    ];
    forms
        .into_iter()
        .filter_map(|(prefix, suffix)| find_reference(text, prefix, suffix))
        .min_by_key(|&(start, _, _)| start)
}

/// The first `prefix`, a line number (1 or more), `suffix` in `text`.
fn find_reference(text: &str, prefix: &str, suffix: &str) -> Option<(usize, usize, u32)> {
    let mut from = 0;
    while let Some(found) = text[from..].find(prefix) {
        let start = from + found;
        let digits_start = start + prefix.len();
        let digits = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let digits_end = digits_start + digits;
        if text[digits_end..].starts_with(suffix) {
            if let Ok(line @ 1..) = text[digits_start..digits_end].parse::<u32>() {
                return Some((start, digits_end + suffix.len(), line));
            }
        }
        from = digits_start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{split_line_references, OutputPart::*};

    #[test]
    fn php_messages_link_their_line() {
        assert_eq!(
            split_line_references("Warning: Undefined variable $x in /in/main.php on line 3\n"),
            [
                Text("Warning: Undefined variable $x in /in/main.php "),
                Line {
                    text: "on line 3",
                    line: 3
                },
                Text("\n"),
            ]
        );
        assert_eq!(
            split_line_references(
                "Fatal error: Uncaught Exception: boom in /in/main.php:12\nStack trace:\n\
                 #0 /in/main.php(7): f()\n  thrown in /in/main.php on line 12"
            ),
            [
                Text("Fatal error: Uncaught Exception: boom in "),
                Line {
                    text: "/in/main.php:12",
                    line: 12
                },
                Text("\nStack trace:\n#0 "),
                Line {
                    text: "/in/main.php(7)",
                    line: 7
                },
                Text(": f()\n  thrown in /in/main.php "),
                Line {
                    text: "on line 12",
                    line: 12
                },
            ]
        );
    }

    #[test]
    fn lookalikes_stay_text() {
        for text in [
            "on line ",
            "on line x",
            "on line 0",
            "/in/main.php(3",
            "/in/other.php:3",
            "",
        ] {
            let parts = split_line_references(text);
            assert!(parts.iter().all(|p| matches!(p, Text(_))), "{text:?}: {parts:?}");
        }
        assert_eq!(
            split_line_references("on line on line 5"),
            [
                Text("on line "),
                Line {
                    text: "on line 5",
                    line: 5
                }
            ]
        );
    }
}

use super::{format_bytes, format_duration, USAGE_SOURCE};
use crate::model::{ImageInfo, VersionResult};
use leptos::either::Either;
use leptos::prelude::*;
use std::collections::HashMap;

/// Wall time, CPU time and peak memory side by side, one row per version, each with a bar
/// relative to the largest value of the run. Rows fill in as results arrive.
#[component]
pub fn PerformanceTable(
    versions: Signal<Vec<ImageInfo>>,
    results: Signal<HashMap<String, VersionResult>>,
) -> impl IntoView {
    let largest = move |measure: fn(&VersionResult) -> Option<f64>| {
        results.with(|r| r.values().filter_map(measure).fold(0.0, f64::max))
    };
    let rows = move || {
        let (wall_max, cpu_max, memory_max) = (largest(wall), largest(cpu), largest(memory));
        versions
            .get()
            .into_iter()
            .map(|info| {
                let result = results.with(|r| r.get(&info.image).cloned());
                let cell = |measure: fn(&VersionResult) -> Option<f64>, max: f64, text: fn(f64) -> String| {
                    let value = result.as_ref().and_then(measure);
                    view! { <MeasureCell value max text/> }
                };
                view! {
                    <tr data-image=info.image.clone()>
                        <th scope="row">"PHP " {info.php_version.clone()}</th>
                        <td class="status-cell">{match &result {
                            None => "running".to_owned(),
                            Some(r) if r.cached => format!("{} (cached)", r.outcome.status.as_str()),
                            Some(r) => r.outcome.status.as_str().to_owned(),
                        }}</td>
                        {cell(wall, wall_max, format_duration)}
                        {cell(cpu, cpu_max, format_duration)}
                        {cell(memory, memory_max, format_bytes)}
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <table class="performance" aria-label="Performance">
            <thead>
                <tr>
                    <th scope="col">"Version"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col" title="From sending the code until the output ended, measured by evalgrid">"Wall time"</th>
                    <th scope="col" title=format!("User + system CPU time. {USAGE_SOURCE}")>"CPU time"</th>
                    <th scope="col" title=format!("Peak memory. {USAGE_SOURCE}")>"Peak memory"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// A number with a bar showing its share of the largest one; "–" when not measured.
#[component]
fn MeasureCell(value: Option<f64>, max: f64, text: fn(f64) -> String) -> impl IntoView {
    match value {
        None => Either::Left(view! { <td class="measure missing">"–"</td> }),
        Some(value) => {
            let share = if max > 0.0 { value / max * 100.0 } else { 0.0 };
            Either::Right(view! {
                <td class="measure">
                    <span class="measure-value">{text(value)}</span>
                    // A style property, not a `style` attribute: the page's CSP refuses inline
                    // style attributes, not properties set through the CSSOM.
                    <span class="bar" style:width=format!("{}%", super::fixed(share, 1))></span>
                </td>
            })
        }
    }
}

fn wall(result: &VersionResult) -> Option<f64> {
    Some(result.outcome.duration_ms as f64)
}

fn cpu(result: &VersionResult) -> Option<f64> {
    result.cpu_time_us.map(|us| us as f64 / 1000.0)
}

fn memory(result: &VersionResult) -> Option<f64> {
    result.peak_memory_bytes.map(|bytes| bytes as f64)
}

//! Beside a change of output: what else changed between the two versions' builds (libraries,
//! extensions, ini defaults), asked of the server once the page runs.

use crate::compare::OutputChange;
use crate::model::{BuildDifference, ValueChange};
use leptos::prelude::*;

/// How the builds of a change's two versions differ; nothing until the server has said.
#[component]
pub fn BuildDifferenceNote(change: OutputChange) -> impl IntoView {
    let difference = RwSignal::new(None::<BuildDifference>);
    let (from, to) = (change.before.image, change.after.image);
    // In the browser only (an effect), once: the server renders the page without it.
    Effect::new(move |_| {
        let (from, to) = (from.clone(), to.clone());
        leptos::task::spawn_local(async move {
            // An image gone since the run, or a server that cannot say: nothing to add.
            if let Ok(found) = crate::api::build_difference(&from, &to).await {
                difference.try_set(Some(found));
            }
        });
    });
    move || {
        difference
            .get()
            .map(|difference| view! { <BuildDifferenceView difference/> })
    }
}

#[component]
fn BuildDifferenceView(difference: BuildDifference) -> impl IntoView {
    let versions = format!("PHP {} → {}", difference.from, difference.to);
    if difference.is_empty() {
        return view! {
            <p class="build-difference build-same">
                {versions}": the same libraries, extensions and ini defaults; the change is in PHP itself."
            </p>
        }
        .into_any();
    }
    let mut parts = Vec::new();
    if !difference.libraries.is_empty() {
        let names: Vec<&str> = difference.libraries.iter().map(|c| c.name.as_str()).collect();
        parts.push(format!("libraries ({})", names.join(", ")));
    }
    let extensions = difference.extensions_added.len() + difference.extensions_removed.len();
    if extensions != 0 {
        parts.push(count(extensions, "extension"));
    }
    if !difference.ini.is_empty() {
        parts.push(count(difference.ini.len(), "ini default"));
    }
    let BuildDifference {
        from,
        to,
        libraries,
        extensions_added,
        extensions_removed,
        ini,
    } = difference;
    let extension_line = |version: &str, names: Vec<String>| {
        (!names.is_empty())
            .then(|| view! { <p class="build-extensions">"Only PHP "{version.to_owned()}" loads "{names.join(", ")}"."</p> })
    };
    view! {
        <details class="build-difference">
            <summary>{versions}", their builds differ too: "{parts.join(", ")}</summary>
            <ChangeTable title="Library" from=from.clone() to=to.clone() changes=libraries/>
            {extension_line(&to, extensions_added)}
            {extension_line(&from, extensions_removed)}
            <ChangeTable title="ini setting" from to changes=ini/>
        </details>
    }
    .into_any()
}

/// "1 extension", "3 ini defaults".
fn count(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// Each named value in both builds, a row each; nothing when none differs.
#[component]
fn ChangeTable(title: &'static str, from: String, to: String, changes: Vec<ValueChange>) -> impl IntoView {
    (!changes.is_empty()).then(|| {
        view! {
            <table class="build-changes">
                <thead>
                    <tr><th scope="col">{title}</th><th scope="col">{from}</th><th scope="col">{to}</th></tr>
                </thead>
                <tbody>
                    {changes.into_iter().map(|change| view! {
                        <tr>
                            <th scope="row">{change.name}</th>
                            <td>{value_cell(change.from)}</td>
                            <td>{value_cell(change.to)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
    })
}

/// A build's value, or what it lacks.
fn value_cell(value: Option<String>) -> impl IntoView {
    match value {
        None => view! { <span class="build-missing">"not there"</span> }.into_any(),
        Some(empty) if empty.is_empty() => view! { <span class="build-missing">"empty"</span> }.into_any(),
        Some(value) => value.into_any(),
    }
}

use super::build_difference::BuildDifferenceNote;
use super::result_grid::ResultMarks;
use super::{CopyButton, OutputStream, ResultView, WithoutScripts};
use crate::compare::{changes_at, diff_lines, group_results, DiffBudget, LineChange};
use crate::model::{routes, ImageInfo, VersionResult};
use crate::page_address::AddressKeys;
use leptos::either::Either;
use leptos::prelude::*;
use std::collections::HashMap;

/// Grid/Grouped switch and the diff base picker.
#[component]
pub fn ResultToolbar(
    /// The tab the address names; `None`: the default for the run's size.
    view: RwSignal<Option<ResultView>>,
    /// The tab on screen.
    shown: Signal<ResultView>,
    /// The base's version key.
    base: RwSignal<Option<String>>,
    versions: Signal<Vec<ImageInfo>>,
    /// "Hide identical to base", offered while a base is picked.
    hide_identical: RwSignal<bool>,
) -> impl IntoView {
    let tab = move |label: &'static str, target: ResultView| {
        view! {
            <button
                type="button"
                class="tab"
                aria-pressed=move || (shown.get() == target).to_string()
                // The run's default tab needs no word in the address.
                on:click=move |_| {
                    let default = ResultView::default_for(versions.with_untracked(Vec::len));
                    view.set((target != default).then_some(target));
                }
            >
                {label}
            </button>
        }
    };
    view! {
        <div class="result-toolbar">
            <div class="tabs" role="group" aria-label="View">
                {tab("Grid", ResultView::Grid)}
                {tab("Grouped", ResultView::Grouped)}
                {tab("Performance", ResultView::Performance)}
            </div>
            <label class="base-picker">
                "Diff against "
                <select
                    aria-label="Diff against"
                    prop:value=move || base.get().unwrap_or_default()
                    on:change=move |event| {
                        let chosen = event_target_value(&event);
                        base.set((!chosen.is_empty()).then_some(chosen));
                    }
                >
                    <option value="">"nothing"</option>
                    {move || {
                        let run = versions.get();
                        let keys = AddressKeys::of_versions(&run);
                        // The version the grid diffs against.
                        let based = base.with_untracked(|b| keys.first_named(b.as_deref()?, &run));
                        run.into_iter()
                            .enumerate()
                            .map(|(index, info)| {
                                let key = keys.key(&info.image);
                                // The attribute for the server's HTML; the select's value once live.
                                let selected = based == Some(index);
                                view! { <option value=key selected=selected>"PHP " {info.php_version}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            // Only the grid shows one cell per version to hide.
            <Show when=move || base.with(Option::is_some) && shown.get() == ResultView::Grid>
                <label class="hide-identical">
                    <input
                        type="checkbox"
                        prop:checked=move || hide_identical.get()
                        on:change=move |event| hide_identical.set(event_target_checked(&event))
                    />
                    "Hide identical to base"
                </label>
            </Show>
        </div>
    }
}

/// Results merged by identical output, newest versions first; grows as results arrive.
#[component]
pub fn GroupedResults(
    versions: Signal<Vec<ImageInfo>>,
    results: Signal<HashMap<String, VersionResult>>,
    /// The permalink's id while each group can be downloaded as a `.phpt` test.
    #[prop(optional, into)]
    exportable: Signal<Option<String>>,
    /// Which of the run's ini variants these results are.
    #[prop(optional)]
    variant: usize,
) -> impl IntoView {
    let groups = Memo::new(move |_| versions.with(|run| results.with(|arrived| group_results(run, arrived))));
    let pending = move || versions.with(Vec::len) - results.with(HashMap::len);
    // Once every version is in: where along the versions the output changes.
    let changes = Memo::new(
        move |_| match pending() == 0 && groups.with(|groups| groups.len() > 1) {
            true => versions.with(|run| results.with(|arrived| changes_at(run, arrived))),
            false => Vec::new(),
        },
    );
    // The builds' differences are asked for by the page's code, which an embed has none of.
    let explains = use_context::<WithoutScripts>().is_none();
    let changes_note = move || {
        let changes = changes.get();
        let versions: Vec<String> = changes
            .iter()
            .map(|change| change.after.php_version.clone())
            .collect();
        (!changes.is_empty()).then(|| view! {
            <div class="output-changes">
                <p class="changes-note">{format!("Output changes in {}.", and_list(&versions))}</p>
                {explains.then(|| view! {
                    <ul class="build-differences">
                        {changes.into_iter().map(|change| view! { <li><BuildDifferenceNote change/></li> }).collect_view()}
                    </ul>
                })}
            </div>
        })
    };
    view! {
        <section class="grouped-results" aria-label="Grouped results">
            {changes_note}
            <For
                each=move || groups.get()
                key=|group| (group.label.clone(), group.result.outcome.stdout.clone(), group.result.outcome.stderr.clone())
                children=move |group| {
                    let added_later = results.with_untracked(|arrived| {
                        group.images.iter().any(|image| arrived.get(image).is_some_and(|r| r.added_later))
                    });
                    let result = group.result;
                    let test_file = result.pinnable().is_ok().then(|| {
                        format!("?image={}&variant={variant}", result.image)
                    });
                    let export = move || {
                        let path = test_file.clone()?;
                        let id = exportable.get()?;
                        Some(view! {
                            <a class="group-export" href=format!("{}{path}", routes::for_snippet(routes::SNIPPET_PHPT, &id)) download=""
                                title="This output as a php-src .phpt test, skipped on the versions it does not hold for">"Export as .phpt"</a>
                        })
                    };
                    let by_version = group.differs_by_version.then(|| view! {
                        <p class="version-note">"Each version prints its own version number; shown: PHP " {result.php_version.clone()}"."</p>
                    });
                    view! {
                        <article class="result-group">
                            <header>
                                <h3>"Output for " {group.label}</h3>
                                <span class=format!("badge badge-{}", result.outcome.status.as_str())>{result.outcome.status.as_str()}</span>
                                <ResultMarks added_later unstable=result.unstable/>
                                {export}
                            </header>
                            {by_version}
                            {(!result.outcome.stdout.is_empty()).then(|| view! { <OutputStream text=result.outcome.stdout.clone() stream="stdout"/> })}
                            {(!result.outcome.stderr.is_empty()).then(|| view! { <OutputStream text=result.outcome.stderr.clone() stream="stderr"/> })}
                            {(result.outcome.stdout.is_empty() && result.outcome.stderr.is_empty()).then(|| view! { <p class="no-output">"no output"</p> })}
                        </article>
                    }
                }
            />
            <Show when=move || pending() != 0>
                <p class="pending-note"><span class="spinner" aria-hidden="true"></span>{move || format!("{} still running", pending())}</p>
            </Show>
        </section>
    }
}

/// The diff budget of the page's rendering, shared by every cell and stream it diffs (see
/// [`DiffBudget`]): a fresh one each time `renders_again` says something the cells show
/// changed (the base, the results, the tab, the variants). On the server that is one rendering
/// per request; in the browser, hydration spends what the server did, in the same order, and so
/// shows the same cells.
pub fn provide_diff_budget(renders_again: impl Fn() + Send + Sync + 'static) {
    provide_context(PageDiffBudget(Memo::new(move |_| {
        renders_again();
        DiffBudget::for_page()
    })));
}

#[derive(Debug, Clone, Copy)]
struct PageDiffBudget(Memo<DiffBudget>);

/// The page's diff budget as it is now (not followed: a cell renders again for its own reasons
/// only), or a page's worth of its own where none was provided.
fn diff_budget() -> DiffBudget {
    use_context::<PageDiffBudget>()
        .map(|budget| budget.0.get_untracked())
        .unwrap_or_default()
}

/// `other` against `base`, line by line, changed words marked, with a button that copies
/// `other`'s own text. Past the page's diff budget, a note that the diff is too large, and
/// `other` as it is.
#[component]
pub fn OutputDiff(base: String, other: String, stream: &'static str) -> impl IntoView {
    let Some(lines) = diff_lines(&base, &other, &diff_budget()) else {
        return Either::Right(view! {
            <p class="message diff-too-large">"Diff too large to show: the output as it is."</p>
            <OutputStream text=other stream/>
        });
    };
    let lines = lines
        .into_iter()
        .map(|line| {
            let (class, sign) = match line.change {
                LineChange::Same => ("diff-line diff-same", "  "),
                LineChange::Removed => ("diff-line diff-removed", "- "),
                LineChange::Added => ("diff-line diff-added", "+ "),
            };
            let parts = line
                .parts
                .into_iter()
                .map(|(changed, text)| {
                    if changed {
                        Either::Left(view! { <mark>{text}</mark> })
                    } else {
                        Either::Right(text)
                    }
                })
                .collect_view();
            view! { <span class=class><span class="diff-sign">{sign}</span>{parts}"\n"</span> }
        })
        .collect_view();
    let text = StoredValue::new(other);
    Either::Left(view! {
        <div class="output">
            <pre class=format!("diff diff-{stream}")>{lines}</pre>
            <CopyButton text stream/>
        </div>
    })
}

/// "8.0.0", "8.0.0 and 8.4.0", "7.4.0, 8.0.0 and 8.4.0".
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

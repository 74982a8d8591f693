use super::ini_variants::{IniVariantsEditor, VariantSection};
use super::run_state::{run_controller, RunState, ScriptInput};
use super::{
    reported_lines, CodeEditor, GroupedResults, LineRequests, PerformanceTable, ResultGrid, ResultToolbar,
    RunSummary, ShareLink, ThemeSwitch, VersionPicker, VersionSelection,
};
use crate::api::list_images;
use crate::model::{ini_text, run_variants, Clock, ImageInfo, Show, Snippet, VersionResult};
use crate::page_address::{AddressKeys, PageQuery, ResultView};
use leptos::either::{Either, EitherOf3, EitherOf4};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::HashMap;
use std::time::Duration;

const EXAMPLE: &str = r#"<?php

var_dump(0 == "a");
echo "PHP ", PHP_VERSION, "\n";
"#;

/// The whole playground: editor, version picker, run button and results. On a permalink it
/// starts from the saved snippet: its code, its results, its versions ticked. The address's
/// query (page_address.rs) says which versions are ticked, the tab and the diff base.
#[component]
pub fn Playground(
    /// The saved snippet to show, on `/s/{id}`.
    #[prop(optional)]
    snippet: Option<Snippet>,
) -> impl IntoView {
    let (images, offered, refresh_images) = offered_images();
    let Opened {
        input,
        run_state,
        saved_at,
        clock_at,
    } = Opened::from(snippet.unwrap_or_else(new_snippet));
    let versions = run_state.versions;
    // Read once, the same on the server and in the browser (no hydration mismatch); from then on
    // the page writes the address, and Back/Forward read it back (below).
    let address = PageQuery::parse(&crate::page_location().1);
    let keys = Memo::new(move |_| offered.with(address_keys));
    let ticked = VersionSelection::new(
        versions.with_untracked(|run| run.iter().map(|info| info.image.clone()).collect()),
        address.versions,
        keys.into(),
    );
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let view_mode = RwSignal::new(address.view);
    // A memo: the results below render anew only when the tab really changes.
    let shown_view = Memo::new(move |_| {
        view_mode
            .get()
            .unwrap_or_else(|| ResultView::default_for(versions.with(Vec::len)))
    });
    let base = RwSignal::new(address.base);
    let hide_identical = RwSignal::new(false);
    // The path of the page on screen: where it was opened, then its permalink after a run.
    let shown_path = StoredValue::new(crate::page_location().0);
    keep_in_address(shown_path, ticked, view_mode, base);
    // Line references in the outputs show their line in the editor.
    provide_context(LineRequests::new());
    let selected = move || ticked.ticked_of(offered.get().and_then(Result::ok).unwrap_or_default());
    let on_saved = move |id: &str, ran: &[ImageInfo]| {
        // What ran is what the permalink ticks: the address needs no `v` for it.
        ticked.settle(ran);
        show_permalink(id, view_mode, base, shown_path);
    };
    // The engine may be gone (or back with other images) after a failed run: the picker says so.
    let run = run_controller(run_state, input, selected, on_saved, refresh_images);
    let total = run_state.total();
    // Only a run's output can be a test, and only once it is saved.
    let show = input.show;
    let exportable = Signal::derive(move || run_state.permalink.get().filter(|_| show.get() == Show::Output));

    view! {
        <main class="playground" data-hydrated=move || hydrated.get().then_some("true")>
            <TopBar/>
            <section class="input">
                <ScriptEditor input run run_state clock_at/>
                <div class="controls">
                    <Transition fallback=|| view! { <p class="loading">"Looking for PHP images…"</p> }>
                        // The first list is awaited (on the server too: the picker is in its
                        // HTML); from then on the choice follows `offered` without rebuilding.
                        {move || Suspend::new(async move {
                            let _ = images.await;
                            view! { <ImageChoice offered ticked/> }
                        })}
                    </Transition>
                    <RunControls run run_state hydrated saved_at/>
                    <ShareLink id=run_state.permalink.into() exportable/>
                </div>
            </section>
            {move || run_state.error.get().map(|message| view! { <p class="run-error" role="alert">{message}</p> })}
            <RunAnnouncements announcements=run_state.announcements/>
            <Show when=move || total.get() != 0>
                <ResultToolbar view=view_mode shown=shown_view.into() base versions=versions.into() hide_identical/>
            </Show>
            <RunResults run_state shown_view base hide_identical exportable/>
        </main>
    }
}

/// What the page starts from: a saved snippet (on a permalink) or the example.
struct Opened {
    input: ScriptInput,
    run_state: RunState,
    /// When the snippet was first saved (RFC 3339), on a permalink.
    saved_at: Option<String>,
    /// Where its fixed clock starts, once saved.
    clock_at: Option<String>,
}

impl From<Snippet> for Opened {
    fn from(snippet: Snippet) -> Self {
        let (id, saved_at) = match snippet.id.is_empty() {
            false => (Some(snippet.id), Some(snippet.created_at)),
            true => (None, None),
        };
        let variants = run_variants(&snippet.ini);
        let input = ScriptInput {
            code: RwSignal::new(snippet.code),
            stdin: RwSignal::new(snippet.stdin),
            clock: RwSignal::new(snippet.clock),
            show: RwSignal::new(snippet.show),
            ini_texts: RwSignal::new(variants.iter().map(ini_text).collect()),
        };
        Self {
            input,
            run_state: RunState::saved(id, snippet.results, variants),
            saved_at,
            clock_at: snippet.clock_at,
        }
    }
}

/// The page's name, what it does, and the theme switch.
#[component]
fn TopBar() -> impl IntoView {
    view! {
        <header class="topbar">
            <h1><a href="/">"evalgrid"</a></h1>
            <p class="tagline">"Run PHP on every version at once."</p>
            <ThemeSwitch/>
        </header>
    }
}

/// The image list on screen (the server's first answer, then each refresh's), the first
/// answer's resource, and the refresh for the page to call when a run failed.
fn offered_images() -> (
    Resource<Result<Vec<ImageInfo>, ServerFnError>>,
    Offered,
    impl Fn() + Copy + Send + Sync + 'static,
) {
    // The list as the server rendered it; later lists come from `keep_images_fresh`.
    let images = Resource::new(|| (), |_| list_images());
    let refreshed = RwSignal::new(None::<Result<Vec<ImageInfo>, String>>);
    let offered: Offered = Memo::new(move |_| {
        refreshed
            .get()
            .or_else(|| images.get().map(|list| list.map_err(server_message)))
    });
    (images, offered, keep_images_fresh(refreshed, offered))
}

/// The editor column: the code (Ctrl+Enter runs it; the lines the outputs name are marked), the
/// script's inputs and the ini variants.
#[component]
fn ScriptEditor(
    input: ScriptInput,
    run: Callback<bool>,
    run_state: RunState,
    clock_at: Option<String>,
) -> impl IntoView {
    let ScriptInput {
        code,
        stdin,
        clock,
        show,
        ini_texts,
    } = input;
    let RunState {
        versions, results, ..
    } = run_state;
    // Opcode dumps name lines too, but report nothing wrong there.
    let line_marks = Signal::derive(move || match show.get().marks_lines() {
        true => versions.with(|v| results.with(|all| all_reported_lines(v, all))),
        false => Default::default(),
    });
    view! {
        <div class="editor-column">
            <CodeEditor code on_run=Callback::new(move |()| run.run(false)) line_marks/>
            <ScriptInputs stdin clock clock_at show/>
            <IniVariantsEditor texts=ini_texts/>
        </div>
    }
}

/// The address keys of the images on offer (none while there is no list).
fn address_keys(offered: &Option<Result<Vec<ImageInfo>, String>>) -> AddressKeys {
    let list = offered.as_ref().and_then(|list| list.as_ref().ok());
    list.map_or_else(AddressKeys::default, |list| AddressKeys::of_versions(list))
}

/// The snippet a new page starts from: the example, with the fixed clock.
fn new_snippet() -> Snippet {
    Snippet {
        id: String::new(),
        code: EXAMPLE.to_owned(),
        created_at: String::new(),
        stdin: String::new(),
        clock: Clock::Saved,
        clock_at: None,
        show: Show::Output,
        ini: Vec::new(),
        results: Vec::new(),
    }
}

/// The run button (Restart while a run streams), its shortcut, "Re-run without cache" when a
/// result came from the cache, and how far the run is.
#[component]
fn RunControls(
    run: Callback<bool>,
    run_state: RunState,
    hydrated: RwSignal<bool>,
    /// When the snippet on screen was first saved, on a permalink.
    saved_at: Option<String>,
) -> impl IntoView {
    let running = run_state.running;
    let total = run_state.total();
    view! {
        <div class="run-row">
            <button
                class="run-button"
                type="button"
                on:click=move |_| run.run(false)
                title=move || running.get().then_some("Stop this run and start again")
                disabled=move || !hydrated.get()
            >
                {move || if running.get() { "Restart" } else { "Run" }}
            </button>
            <span class="hint">"Ctrl+Enter"</span>
            <Show when=move || run_state.any_cached() && !running.get()>
                <button
                    class="link force-run"
                    type="button"
                    title="Run every version again instead of showing stored results"
                    on:click=move |_| run.run(true)
                >
                    "Re-run without cache"
                </button>
            </Show>
            <Show when=move || total.get() != 0>
                <RunSummary done=run_state.done() total elapsed_ms=run_state.elapsed_ms.into() saved_at=saved_at.clone()/>
            </Show>
        </div>
    }
}

/// The page's one polite live region: a line per finished version, and one when the run is over.
#[component]
fn RunAnnouncements(announcements: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <div class="visually-hidden run-announcements" role="status" aria-live="polite">
            // Keyed by position: each line is added once, so only the new one is read out.
            <For
                each=move || announcements.get().into_iter().enumerate()
                key=|(position, _)| *position
                children=|(_, text)| view! { <p>{text}</p> }
            />
        </div>
    }
}

/// The run's results in the chosen view, a section per ini variant when the run has variants.
#[component]
fn RunResults(
    run_state: RunState,
    shown_view: Memo<ResultView>,
    base: RwSignal<Option<String>>,
    hide_identical: RwSignal<bool>,
    /// The permalink's id while its outputs can be exported as tests.
    exportable: Signal<Option<String>>,
) -> impl IntoView {
    let RunState {
        versions,
        variants,
        results,
        waiting,
        ..
    } = run_state;
    // The sections render anew only when the variants really change.
    let shown_variants = Memo::new(move |_| variants.get());
    // One diff budget for all the cells a change renders again (issue 23: the whole page's).
    super::compare_views::provide_diff_budget(move || {
        base.track();
        results.track();
        shown_view.track();
        shown_variants.track();
    });
    move || {
        let all = shown_variants.get();
        // A run with the images' own settings only shows its results as they are.
        let matrix = all.len() > 1 || all.iter().any(|settings| !settings.is_empty());
        all.into_iter()
            .enumerate()
            .map(|(index, settings)| {
                let results: Signal<HashMap<String, VersionResult>> =
                    Memo::new(move |_| results.with(|all| all.get(index).cloned().unwrap_or_default())).into();
                let shown = move || match shown_view.get() {
                    ResultView::Grid => EitherOf3::A(view! { <ResultGrid versions=versions.into() results base=base.into() waiting hide_identical/> }),
                    ResultView::Grouped => EitherOf3::B(view! { <GroupedResults versions=versions.into() results exportable variant=index/> }),
                    ResultView::Performance => EitherOf3::C(view! { <PerformanceTable versions=versions.into() results/> }),
                };
                match matrix {
                    true => Either::Left(view! { <VariantSection settings results=shown/> }),
                    false => Either::Right(shown),
                }
            })
            .collect_view()
    }
}

/// What the script gets besides its code: the text on its STDIN, and its clock (fixed from the
/// snippet's first save, or the real time); and what each version shows of it.
#[component]
fn ScriptInputs(
    stdin: RwSignal<String>,
    clock: RwSignal<Clock>,
    clock_at: Option<String>,
    show: RwSignal<Show>,
) -> impl IntoView {
    let has_stdin = stdin.with_untracked(|text| !text.is_empty());
    let fixed_text = match clock_at {
        Some(at) => format!("Fixed clock (from {})", at.replace('T', " ").replace('Z', " UTC")),
        None => "Fixed clock (from the first save)".to_owned(),
    };
    view! {
        <div class="script-inputs">
            <details class="stdin-box" open=has_stdin>
                <summary>"stdin" {move || stdin.with(|text| (!text.is_empty()).then(|| format!(" ({} bytes)", text.len())))}</summary>
                <label class="visually-hidden" for="stdin-text">"Text the script reads from STDIN"</label>
                <textarea
                    id="stdin-text"
                    class="stdin-text"
                    rows="4"
                    spellcheck="false"
                    placeholder="Text the script reads with fgets(STDIN), the same on every version"
                    prop:value=move || stdin.get()
                    on:input=move |event| stdin.set(event_target_value(&event))
                ></textarea>
            </details>
            <label class="clock-choice" title="A fixed clock makes date() and time() print the same on every version and on every re-run">
                <input
                    type="checkbox"
                    prop:checked=move || clock.get() != Clock::Real
                    on:change=move |event| {
                        let fixed = event_target_checked(&event);
                        clock.set(if fixed { Clock::Saved } else { Clock::Real });
                    }
                />
                {fixed_text}
            </label>
            <label class="show-choice" title="What each version shows of the script: its output, or without running it, its opcodes as OPcache compiles them or its syntax check">
                "Show "
                <select
                    prop:value=move || show.get().name()
                    on:change=move |event| show.set(Show::from_name(&event_target_value(&event)).unwrap_or_default())
                >
                    {Show::ALL.iter().map(|choice| view! { <option value=choice.name()>{choice.label()}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}

/// The image list on screen: the server's first answer, then each refresh's.
type Offered = Memo<Option<Result<Vec<ImageInfo>, String>>>;

/// The picker, or why there is none. Renders anew only when that changes (not when the list
/// does: the picker follows the list itself).
#[component]
fn ImageChoice(offered: Offered, ticked: VersionSelection) -> impl IntoView {
    #[derive(Clone, PartialEq)]
    enum Choice {
        Waiting,
        Empty,
        Some,
        Failed(String),
    }
    let choice = Memo::new(move |_| match offered.get() {
        None => Choice::Waiting,
        Some(Ok(list)) if list.is_empty() => Choice::Empty,
        Some(Ok(_)) => Choice::Some,
        Some(Err(error)) => Choice::Failed(error),
    });
    let list = Memo::new(move |_| offered.get().and_then(Result::ok).unwrap_or_default());
    move || match choice.get() {
        Choice::Waiting => EitherOf4::A(view! { <p class="loading">"Looking for PHP images…"</p> }),
        Choice::Empty => EitherOf4::B(view! {
            <p class="notice">"No PHP images found. Pull some, e.g. " <code>"docker pull php:8.4-cli"</code></p>
        }),
        Choice::Some => EitherOf4::C(view! { <VersionPicker images=list.into() ticked/> }),
        Choice::Failed(error) => EitherOf4::D(view! {
            <p class="notice error" role="alert">"Cannot list the PHP versions: " {error}</p>
        }),
    }
}

/// How often the page asks for the image list again: new images (a pull) appear without a
/// reload. Also when the window gets the focus back, and every few seconds while the engine is
/// down, so that the page notices at once when it is back.
const REFRESH_EVERY_SECS: u32 = 60;
const RETRY_EVERY_SECS: u32 = 5;

/// Asks for the image list on window focus, periodically, and (faster) while the last answer
/// was an error; each answer goes to `refreshed`. Returns the refresh, for the page to call
/// when a run failed. Only the browser does any of it.
fn keep_images_fresh(
    refreshed: RwSignal<Option<Result<Vec<ImageInfo>, String>>>,
    offered: Offered,
) -> impl Fn() + Copy + Send + Sync + 'static {
    let asking = StoredValue::new(false);
    let refresh = move || {
        if asking.get_value() {
            return;
        }
        asking.set_value(true);
        spawn_local(async move {
            let list = list_images().await.map_err(server_message);
            asking.set_value(false);
            refreshed.try_set(Some(list));
        });
    };
    Effect::new(move |_| {
        let focus = window_event_listener(leptos::ev::focus, move |_| refresh());
        let seconds = StoredValue::new(0_u32);
        let timer = set_interval_with_handle(
            move || {
                let elapsed = seconds.get_value() + RETRY_EVERY_SECS;
                let failing = offered.with_untracked(|o| matches!(o, Some(Err(_))));
                let hidden = document().hidden();
                if (failing || elapsed >= REFRESH_EVERY_SECS) && !hidden {
                    seconds.set_value(0);
                    refresh();
                } else {
                    seconds.set_value(elapsed);
                }
            },
            Duration::from_secs(RETRY_EVERY_SECS.into()),
        )
        .ok();
        on_cleanup(move || {
            focus.remove();
            if let Some(timer) = timer {
                timer.clear();
            }
        });
    });
    refresh
}

/// The lines any variant's output names, each with the first variant's tooltip.
fn all_reported_lines(
    versions: &[ImageInfo],
    results: &[HashMap<String, VersionResult>],
) -> Vec<(u32, String)> {
    let mut lines = std::collections::BTreeMap::new();
    for arrived in results {
        for (line, title) in reported_lines(versions, arrived) {
            lines.entry(line).or_insert(title);
        }
    }
    lines.into_iter().collect()
}

/// Writes the ticked versions, the tab and the diff base into the address as they change, each
/// change a history entry of its own (Back undoes it), and puts them back on Back/Forward.
/// Through the History API, not the router: the router would render the page anew.
fn keep_in_address(
    shown_path: StoredValue<String>,
    ticked: VersionSelection,
    view_mode: RwSignal<Option<ResultView>>,
    base: RwSignal<Option<String>>,
) {
    Effect::new(move |first: Option<()>| {
        let query = PageQuery {
            versions: ticked.picked.get(),
            view: view_mode.get(),
            base: base.get(),
        };
        let location = window().location();
        if PageQuery::parse(&location.search().unwrap_or_default()) != query {
            let address = format!("{}{}", location.pathname().unwrap_or_default(), query.to_search());
            if let Ok(history) = window().history() {
                // The first time only tidies the address the page was opened with.
                let _ = match first {
                    None => history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address)),
                    Some(()) => history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&address)),
                };
            }
        }
    });
    let listener = window_event_listener(leptos::ev::popstate, move |_| {
        // Back to an entry of another page (the playground before its run became a permalink):
        // that page, as a link to it would show it.
        if window().location().pathname().ok() != shown_path.try_get_value() {
            let _ = window().location().reload();
            return;
        }
        let query = PageQuery::parse(&window().location().search().unwrap_or_default());
        ticked.picked.set(query.versions);
        view_mode.set(query.view);
        base.set(query.base);
    });
    on_cleanup(move || listener.remove());
}

/// The run's permalink `id` in the address bar, with the page's tab and diff base, and as the
/// path of the page on screen.
fn show_permalink(
    id: &str,
    view_mode: RwSignal<Option<ResultView>>,
    base: RwSignal<Option<String>>,
    shown_path: StoredValue<String>,
) {
    let query = PageQuery {
        versions: None,
        view: view_mode.get_untracked(),
        base: base.get_untracked(),
    };
    show_in_address_bar(&format!("/s/{id}{}", query.to_search()));
    shown_path.set_value(format!("/s/{id}"));
}

/// Puts the permalink in the address bar without reloading or leaving the page.
fn show_in_address_bar(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// The server's own words, without the framework's prefix.
pub(super) fn server_message(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}

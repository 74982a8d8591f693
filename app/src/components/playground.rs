use super::ini_variants::{variant_label, IniVariantsEditor, VariantSection};
use super::result_grid::badge_text;
use super::{
    reported_lines, CodeEditor, GroupedResults, LineRequests, PerformanceTable, ResultGrid, ResultToolbar,
    RunSummary, ShareLink, ThemeSwitch, VersionPicker, VersionSelection,
};
use crate::api::{list_images, run_streaming, RunUpdate};
use crate::model::{
    ini_text, normalize_ini, parse_ini_text, run_variants, Clock, ImageInfo, IniSettings, RunRequest, Show,
    Snippet, Status, VersionResult,
};
use crate::page_address::{PageQuery, ResultView};
use leptos::either::{Either, EitherOf3, EitherOf4};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
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
    // The list as the server rendered it; later lists come from `keep_images_fresh`.
    let images = Resource::new(|| (), |_| list_images());
    let refreshed = RwSignal::new(None::<Result<Vec<ImageInfo>, String>>);
    let offered: Offered = Memo::new(move |_| {
        refreshed
            .get()
            .or_else(|| images.get().map(|list| list.map_err(server_message)))
    });
    let refresh_images = keep_images_fresh(refreshed, offered);
    let snippet = snippet.unwrap_or_else(|| Snippet {
        id: String::new(),
        code: EXAMPLE.to_owned(),
        created_at: String::new(),
        stdin: String::new(),
        clock: Clock::Saved.as_request(),
        clock_at: None,
        show: Show::Output,
        ini: Vec::new(),
        results: Vec::new(),
    });
    let (id, saved_at) = match snippet.id.is_empty() {
        false => (Some(snippet.id), Some(snippet.created_at)),
        true => (None, None),
    };
    let (clock_at, saved_results) = (snippet.clock_at, snippet.results);
    let saved_variants = run_variants(&snippet.ini);
    // The ini variants as the editor holds them; one empty variant: the images' own settings.
    let ini_texts = RwSignal::new(saved_variants.iter().map(ini_text).collect::<Vec<_>>());
    // The run body's `show`: what each version shows (its output, its opcodes, …).
    let show = RwSignal::new(snippet.show);
    let stdin = RwSignal::new(snippet.stdin);
    // The run body's `clock`: "fixed", "real", or the time a snippet was saved with.
    let clock = RwSignal::new(snippet.clock);
    // Read once, the same on the server and in the browser (no hydration mismatch); from then on
    // the page writes the address, and Back/Forward read it back (below).
    let address = PageQuery::parse(&crate::page_location().1);
    let code = RwSignal::new(snippet.code);
    // The run on screen: its versions (in version order), its ini variants (one, empty, for a
    // run with the images' own settings) and the results so far, one map per variant.
    let mut saved_versions: Vec<ImageInfo> = Vec::new();
    for result in &saved_results {
        if !saved_versions.iter().any(|info| info.image == result.image) {
            saved_versions.push(result_info(result));
        }
    }
    let ticked = VersionSelection::new(
        saved_versions.iter().map(|info| info.image.clone()).collect(),
        address.versions,
    );
    let versions = RwSignal::new(saved_versions);
    let mut saved_by_variant = vec![HashMap::new(); saved_variants.len()];
    for result in saved_results {
        if let Some(index) = saved_variants.iter().position(|settings| *settings == result.ini) {
            saved_by_variant[index].insert(result.image.clone(), result);
        }
    }
    let variants = RwSignal::new(saved_variants);
    let results = RwSignal::new(saved_by_variant);
    let permalink = RwSignal::new(id);
    let running = RwSignal::new(false);
    // While the run waits for a free slot: how many runs are ahead of it.
    let waiting = RwSignal::new(None::<usize>);
    let elapsed_ms = RwSignal::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let hydrated = RwSignal::new(false);
    let view_mode = RwSignal::new(address.view);
    // A memo: the results below render anew only when the tab really changes.
    let shown_view = Memo::new(move |_| {
        view_mode
            .get()
            .unwrap_or_else(|| ResultView::default_for(versions.with(Vec::len)))
    });
    let base = RwSignal::new(address.base);
    let hide_identical = RwSignal::new(false);
    // What a screen reader says as the run goes: "PHP 8.4.27 finished: ok", one line per
    // version, in one polite live region for the whole page (one per cell would talk over
    // itself).
    let announcements = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| hydrated.set(true));
    // The path of the page on screen: where it was opened, then its permalink after a run.
    let shown_path = StoredValue::new(crate::page_location().0);
    keep_in_address(shown_path, ticked, view_mode, base);
    // Line references in the outputs show their line in the editor.
    provide_context(LineRequests::new());
    // Opcode dumps name lines too, but report nothing wrong there.
    let line_marks = Signal::derive(move || match show.get().marks_lines() {
        true => versions.with(|v| results.with(|all| all_reported_lines(v, all))),
        false => Default::default(),
    });

    let selected = move || -> Vec<ImageInfo> {
        let available = offered.get().and_then(Result::ok).unwrap_or_default();
        available
            .into_iter()
            .filter(|i| ticked.is_ticked(&i.image))
            .collect()
    };

    // The run in flight, to cancel its request when a new run starts or the page goes; and the
    // number of the latest run, so that a replaced run's last updates are dropped.
    let in_flight: InFlight = StoredValue::new(None);
    let latest_run = StoredValue::new(0_u64);
    on_cleanup(move || abort_run(in_flight));

    // `force`: run every version even when the server has its result cached. A run started
    // while another streams replaces it.
    let run = Callback::new(move |force: bool| {
        // A variant that does not read stops the run before it starts; the one on screen stays.
        let ini = match ini_texts.with_untracked(|texts| request_ini(texts)) {
            Ok(ini) => ini,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        abort_run(in_flight);
        let number = latest_run.get_value() + 1;
        latest_run.set_value(number);
        let is_latest = move || latest_run.try_get_value() == Some(number);
        let controller = web_sys::AbortController::new().ok();
        let abort = controller.as_ref().map(web_sys::AbortController::signal);
        in_flight.set_value(controller.map(SendWrapper::new));
        let chosen = selected();
        let request = RunRequest {
            code: code.get_untracked(),
            images: chosen.iter().map(|i| i.image.clone()).collect(),
            save: true,
            force,
            stdin: stdin.get_untracked(),
            clock: Some(clock.get_untracked()),
            show: show.get_untracked(),
            ini,
        };
        versions.set(chosen.clone());
        let ran_under = run_variants(&request.ini);
        results.set(vec![HashMap::new(); ran_under.len()]);
        variants.set(ran_under);
        announcements.set(Vec::new());
        error.set(None);
        running.set(true);
        let started = now_ms();
        elapsed_ms.set(Some(0.0));
        let ticker = set_interval_with_handle(
            move || elapsed_ms.set(Some(now_ms() - started)),
            Duration::from_millis(100),
        )
        .ok();
        spawn_local(async move {
            let outcome = run_streaming(&request, abort.as_ref(), |update| {
                if !is_latest() {
                    return;
                }
                match update {
                    RunUpdate::Waiting { ahead } => waiting.set(Some(ahead)),
                    RunUpdate::Result(result) => {
                        waiting.set(None);
                        elapsed_ms.set(Some(now_ms() - started));
                        announcements.update(|said| said.push(finished_text(&result)));
                        let variant =
                            variants.with_untracked(|all| all.iter().position(|v| *v == result.ini));
                        results.update(|all| {
                            if let Some(arrived) = variant.and_then(|index| all.get_mut(index)) {
                                arrived.insert(result.image.clone(), *result);
                            }
                        });
                    }
                }
            })
            .await;
            if let Some(ticker) = ticker {
                ticker.clear();
            }
            // Replaced by a newer run (aborted): that one owns the page now.
            if !is_latest() {
                return;
            }
            in_flight.set_value(None);
            waiting.set(None);
            elapsed_ms.set(Some(now_ms() - started));
            let total = versions.with_untracked(Vec::len);
            announcements.update(|said| {
                said.push(format!(
                    "Run over: {total} {} in {}",
                    if total == 1 { "version" } else { "versions" },
                    super::format_duration(now_ms() - started)
                ))
            });
            match outcome {
                Ok(id) => {
                    if mark_unfinished(versions, variants, results, "the server ended the run first") {
                        error.set(Some("The run ended before every version finished.".into()));
                    }
                    if let Some(id) = &id {
                        // What ran is what the permalink ticks: the address needs no `v` for it.
                        ticked.settle(&chosen);
                        let query = PageQuery {
                            versions: None,
                            view: view_mode.get_untracked(),
                            base: base.get_untracked(),
                        };
                        show_in_address_bar(&format!("/s/{id}{}", query.to_search()));
                        shown_path.set_value(format!("/s/{id}"));
                    }
                    permalink.set(id);
                }
                // What arrived stays; the versions still out failed with the run.
                Err(message) => {
                    // The engine may be gone (or back with other images): the picker says so.
                    refresh_images();
                    if results.with_untracked(|all| all.iter().all(HashMap::is_empty)) {
                        versions.set(Vec::new());
                    } else {
                        mark_unfinished(versions, variants, results, &message);
                    }
                    error.set(Some(message));
                }
            }
            running.set(false);
        });
    });

    let done = Signal::derive(move || results.with(|all| all.iter().map(HashMap::len).sum()));
    let total = Signal::derive(move || versions.with(Vec::len) * variants.with(Vec::len));
    let any_cached = move || results.with(|all| all.iter().flat_map(HashMap::values).any(|r| r.cached));
    // The sections below render anew only when the variants really change.
    let shown_variants = Memo::new(move |_| variants.get());
    // One diff budget for all the cells a change renders again (issue 23: the whole page's).
    super::compare_views::provide_diff_budget(move || {
        base.track();
        results.track();
        shown_view.track();
        shown_variants.track();
    });

    view! {
        <main class="playground" data-hydrated=move || hydrated.get().then_some("true")>
            <header class="topbar">
                <h1><a href="/">"evalgrid"</a></h1>
                <p class="tagline">"Run PHP on every version at once."</p>
                <ThemeSwitch/>
            </header>
            <section class="input">
                <div class="editor-column">
                    <CodeEditor code on_run=Callback::new(move |()| run.run(false)) line_marks/>
                    <ScriptInputs stdin clock clock_at show/>
                    <IniVariantsEditor texts=ini_texts/>
                </div>
                <div class="controls">
                    <Transition fallback=|| view! { <p class="loading">"Looking for PHP images…"</p> }>
                        // The first list is awaited (on the server too: the picker is in its
                        // HTML); from then on the choice follows `offered` without rebuilding.
                        {move || Suspend::new(async move {
                            let _ = images.await;
                            view! { <ImageChoice offered ticked/> }
                        })}
                    </Transition>
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
                        <Show when=move || any_cached() && !running.get()>
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
                            <RunSummary done total elapsed_ms=elapsed_ms.into() saved_at=saved_at.clone()/>
                        </Show>
                    </div>
                    <ShareLink id=permalink.into()/>
                </div>
            </section>
            {move || error.get().map(|message| view! { <p class="run-error" role="alert">{message}</p> })}
            <div class="visually-hidden run-announcements" role="status" aria-live="polite">
                // Keyed by position: each line is added once, so only the new one is read out.
                <For
                    each=move || announcements.get().into_iter().enumerate()
                    key=|(position, _)| *position
                    children=|(_, text)| view! { <p>{text}</p> }
                />
            </div>
            <Show when=move || total.get() != 0>
                <ResultToolbar view=view_mode shown=shown_view.into() base versions=versions.into() hide_identical/>
            </Show>
            {move || {
                let all = shown_variants.get();
                // A run with the images' own settings only shows its results as they are.
                let matrix = all.len() > 1 || all.iter().any(|settings| !settings.is_empty());
                all.into_iter()
                    .enumerate()
                    .map(|(index, settings)| {
                        let results: Signal<HashMap<String, VersionResult>> = Memo::new(move |_| {
                            results.with(|all| all.get(index).cloned().unwrap_or_default())
                        })
                        .into();
                        let shown = move || match shown_view.get() {
                            ResultView::Grid => EitherOf3::A(view! { <ResultGrid versions=versions.into() results base=base.into() waiting hide_identical/> }),
                            ResultView::Grouped => EitherOf3::B(view! { <GroupedResults versions=versions.into() results/> }),
                            ResultView::Performance => EitherOf3::C(view! { <PerformanceTable versions=versions.into() results/> }),
                        };
                        match matrix {
                            true => Either::Left(view! { <VariantSection settings results=shown/> }),
                            false => Either::Right(shown),
                        }
                    })
                    .collect_view()
            }}
        </main>
    }
}

/// What the script gets besides its code: the text on its STDIN, and its clock (fixed from the
/// snippet's first save, or the real time); and what each version shows of it.
#[component]
fn ScriptInputs(
    stdin: RwSignal<String>,
    clock: RwSignal<String>,
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
                    prop:checked=move || clock.with(|c| c != "real")
                    on:change=move |event| {
                        let fixed = event_target_checked(&event);
                        clock.set(if fixed { Clock::Saved.as_request() } else { "real".into() });
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
) -> impl Fn() + Copy + 'static {
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

/// "PHP 8.4.27 finished: ok", "PHP 7.4.33 finished: exit 255 (cached)", "PHP 8.4.27 with
/// opcache.jit=tracing finished: ok".
fn finished_text(result: &VersionResult) -> String {
    let cached = if result.cached { " (cached)" } else { "" };
    let under = match result.ini.is_empty() {
        true => String::new(),
        false => format!(" with {}", variant_label(&result.ini)),
    };
    format!(
        "PHP {}{under} finished: {}{cached}",
        result.php_version,
        badge_text(result)
    )
}

/// The run body's `ini` from the editor's texts: none for one empty variant (the images' own
/// settings), else each variant's settings; or which variant does not read, and why.
fn request_ini(texts: &[String]) -> Result<Vec<IniSettings>, String> {
    let variants = texts
        .iter()
        .enumerate()
        .map(|(index, text)| parse_ini_text(text).map_err(|why| format!("ini variant {}, {why}", index + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(normalize_ini(variants))
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

/// The run in flight's request, to abort; only ever set in the browser.
type InFlight = StoredValue<Option<SendWrapper<web_sys::AbortController>>>;

fn abort_run(in_flight: InFlight) {
    if let Some(controller) = in_flight.try_update_value(Option::take).flatten() {
        controller.abort();
    }
}

/// Gives each version and variant of the run still without a result a failed one that says
/// why; true if there was any.
fn mark_unfinished(
    versions: RwSignal<Vec<ImageInfo>>,
    variants: RwSignal<Vec<IniSettings>>,
    results: RwSignal<Vec<HashMap<String, VersionResult>>>,
    why: &str,
) -> bool {
    let run = versions.get_untracked();
    let variants = variants.get_untracked();
    let mut any = false;
    results.update(|all| {
        for (arrived, settings) in all.iter_mut().zip(&variants) {
            let missing: Vec<&ImageInfo> = run
                .iter()
                .filter(|info| !arrived.contains_key(&info.image))
                .collect();
            for info in missing {
                any = true;
                let result = VersionResult {
                    ini: settings.clone(),
                    ..unfinished(info, why)
                };
                arrived.insert(info.image.clone(), result);
            }
        }
    });
    any
}

fn unfinished(info: &ImageInfo, why: &str) -> VersionResult {
    VersionResult {
        message: Some(format!("no result: {why}")),
        ..VersionResult::new(info.image.clone(), info.php_version.clone(), Status::Error)
    }
}

/// The version a saved result ran on, as the results views list versions.
pub(super) fn result_info(result: &VersionResult) -> ImageInfo {
    ImageInfo {
        image: result.image.clone(),
        php_version: result.php_version.clone(),
        ..ImageInfo::default()
    }
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

fn now_ms() -> f64 {
    js_sys::Date::now()
}

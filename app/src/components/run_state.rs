//! The run on screen and what starts one: the playground's run state (its versions, variants,
//! results so far, place in line, time, error and what a screen reader is told) and the
//! controller that sends a run, feeds its updates in and ends it.

use super::ini_variants::variant_label;
use super::result_grid::badge_text;
use crate::api::{run_streaming, RunUpdate};
use crate::model::{
    normalize_ini, parse_ini_text, run_variants, Clock, ImageInfo, IniSettings, RunRequest, Show, Status,
    VersionResult,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use std::collections::HashMap;
use std::time::Duration;

/// The run on screen: its versions (in version order), its ini variants (one, empty, for a run
/// with the images' own settings) and the results so far, one map per variant.
#[derive(Clone, Copy)]
pub(super) struct RunState {
    pub versions: RwSignal<Vec<ImageInfo>>,
    pub variants: RwSignal<Vec<IniSettings>>,
    pub results: RwSignal<Vec<HashMap<String, VersionResult>>>,
    pub permalink: RwSignal<Option<String>>,
    pub running: RwSignal<bool>,
    /// While the run waits for a free slot: how many runs are ahead of it.
    pub waiting: RwSignal<Option<usize>>,
    pub elapsed_ms: RwSignal<Option<f64>>,
    pub error: RwSignal<Option<String>>,
    /// What a screen reader says as the run goes: "PHP 8.4.27 finished: ok", one line per
    /// version, in one polite live region for the whole page (one per cell would talk over
    /// itself).
    pub announcements: RwSignal<Vec<String>>,
}

impl RunState {
    /// The run a permalink was saved with (`id`, its results under its variants), or none.
    pub fn saved(id: Option<String>, saved: Vec<VersionResult>, variants: Vec<IniSettings>) -> Self {
        let mut versions: Vec<ImageInfo> = Vec::new();
        for result in &saved {
            if !versions.iter().any(|info| info.image == result.image) {
                versions.push(result_info(result));
            }
        }
        let mut by_variant = vec![HashMap::new(); variants.len()];
        for result in saved {
            if let Some(index) = variants.iter().position(|settings| *settings == result.ini) {
                by_variant[index].insert(result.image.clone(), result);
            }
        }
        Self {
            versions: RwSignal::new(versions),
            variants: RwSignal::new(variants),
            results: RwSignal::new(by_variant),
            permalink: RwSignal::new(id),
            running: RwSignal::new(false),
            waiting: RwSignal::new(None),
            elapsed_ms: RwSignal::new(None),
            error: RwSignal::new(None),
            announcements: RwSignal::new(Vec::new()),
        }
    }

    /// Results arrived so far, over all variants.
    pub fn done(self) -> Signal<usize> {
        Signal::derive(move || self.results.with(|all| all.iter().map(HashMap::len).sum()))
    }

    /// Results the run asks for: versions × variants.
    pub fn total(self) -> Signal<usize> {
        Signal::derive(move || self.versions.with(Vec::len) * self.variants.with(Vec::len))
    }

    pub fn any_cached(self) -> bool {
        self.results
            .with(|all| all.iter().flat_map(HashMap::values).any(|result| result.cached))
    }

    /// A new run of `versions` under `variants`, nothing arrived yet.
    fn begin(self, versions: Vec<ImageInfo>, variants: Vec<IniSettings>) {
        self.versions.set(versions);
        self.results.set(vec![HashMap::new(); variants.len()]);
        self.variants.set(variants);
        self.announcements.set(Vec::new());
        self.error.set(None);
        self.running.set(true);
        self.elapsed_ms.set(Some(0.0));
    }

    fn update(self, update: RunUpdate, started: f64) {
        match update {
            RunUpdate::Waiting { ahead } => self.waiting.set(Some(ahead)),
            RunUpdate::Result(result) => {
                self.waiting.set(None);
                self.elapsed_ms.set(Some(now_ms() - started));
                self.announcements
                    .update(|said| said.push(finished_text(&result)));
                let variant = self
                    .variants
                    .with_untracked(|all| all.iter().position(|v| *v == result.ini));
                self.results.update(|all| {
                    if let Some(arrived) = variant.and_then(|index| all.get_mut(index)) {
                        arrived.insert(result.image.clone(), *result);
                    }
                });
            }
        }
    }

    /// The run is over: with its permalink id (the page's `on_saved` puts it in the address),
    /// or with an error, the versions still out failed with it (what arrived stays).
    fn end(
        self,
        outcome: Result<Option<String>, String>,
        started: f64,
        on_saved: impl FnOnce(&str),
        on_failed: impl FnOnce(),
    ) {
        self.waiting.set(None);
        self.elapsed_ms.set(Some(now_ms() - started));
        let total = self.versions.with_untracked(Vec::len);
        self.announcements.update(|said| {
            said.push(format!(
                "Run over: {total} {} in {}",
                if total == 1 { "version" } else { "versions" },
                super::format_duration(now_ms() - started)
            ))
        });
        match outcome {
            Ok(id) => {
                if self.mark_unfinished("the server ended the run first") {
                    self.error
                        .set(Some("The run ended before every version finished.".into()));
                }
                if let Some(id) = &id {
                    on_saved(id);
                }
                self.permalink.set(id);
            }
            Err(message) => {
                on_failed();
                if self
                    .results
                    .with_untracked(|all| all.iter().all(HashMap::is_empty))
                {
                    self.versions.set(Vec::new());
                } else {
                    self.mark_unfinished(&message);
                }
                self.error.set(Some(message));
            }
        }
        self.running.set(false);
    }

    /// Gives each version and variant of the run still without a result a failed one that says
    /// why; true if there was any.
    fn mark_unfinished(self, why: &str) -> bool {
        let run = self.versions.get_untracked();
        let variants = self.variants.get_untracked();
        let mut any = false;
        self.results.update(|all| {
            for (arrived, settings) in all.iter_mut().zip(&variants) {
                let missing: Vec<&ImageInfo> = run
                    .iter()
                    .filter(|info| !arrived.contains_key(&info.image))
                    .collect();
                for info in missing {
                    any = true;
                    let result = VersionResult {
                        ini: settings.clone(),
                        message: Some(format!("no result: {why}")),
                        ..VersionResult::new(info.image.clone(), info.php_version.clone(), Status::Error)
                    };
                    arrived.insert(info.image.clone(), result);
                }
            }
        });
        any
    }
}

/// What a run sends besides its versions: the editor's code and the script's inputs.
#[derive(Clone, Copy)]
pub(super) struct ScriptInput {
    pub code: RwSignal<String>,
    pub stdin: RwSignal<String>,
    /// The run body's `clock`: fixed, real, or the time a snippet was saved with.
    pub clock: RwSignal<Clock>,
    /// What each version shows (its output, its opcodes, …).
    pub show: RwSignal<Show>,
    /// The ini variants as the editor holds them; one empty variant: the images' own settings.
    pub ini_texts: RwSignal<Vec<String>>,
}

impl ScriptInput {
    /// The run body for `versions`; or, when a variant does not read, which one and why.
    fn request(self, versions: &[ImageInfo], force: bool) -> Result<RunRequest, String> {
        Ok(RunRequest {
            code: self.code.get_untracked(),
            images: versions.iter().map(|info| info.image.clone()).collect(),
            save: true,
            force,
            stdin: self.stdin.get_untracked(),
            clock: Some(self.clock.get_untracked()),
            show: self.show.get_untracked(),
            ini: self.ini_texts.with_untracked(|texts| request_ini(texts))?,
        })
    }
}

/// Starts a run of `input` on the `selected` versions when called (`force`: run every version
/// even when the server has its result cached); a run started while another streams replaces
/// it, and the page going away aborts it. `on_saved` gets the permalink id and the versions it
/// ran on; `on_failed` is called when the run failed.
pub(super) fn run_controller(
    state: RunState,
    input: ScriptInput,
    selected: impl Fn() -> Vec<ImageInfo> + Send + Sync + 'static,
    on_saved: impl Fn(&str, &[ImageInfo]) + Copy + Send + Sync + 'static,
    on_failed: impl Fn() + Copy + Send + Sync + 'static,
) -> Callback<bool> {
    // The run in flight, to cancel its request; and the number of the latest run, so that a
    // replaced run's last updates are dropped.
    let in_flight: InFlight = StoredValue::new(None);
    let latest_run = StoredValue::new(0_u64);
    on_cleanup(move || abort_run(in_flight));
    Callback::new(move |force: bool| {
        let chosen = selected();
        // A variant that does not read stops the run before it starts; the one on screen stays.
        let request = match input.request(&chosen, force) {
            Ok(request) => request,
            Err(message) => {
                state.error.set(Some(message));
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
        state.begin(chosen.clone(), run_variants(&request.ini));
        let started = now_ms();
        let ticker = set_interval_with_handle(
            move || state.elapsed_ms.set(Some(now_ms() - started)),
            Duration::from_millis(100),
        )
        .ok();
        spawn_local(async move {
            let outcome = run_streaming(&request, abort.as_ref(), |update| {
                if is_latest() {
                    state.update(update, started);
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
            state.end(outcome, started, |id| on_saved(id, &chosen), on_failed);
        });
    })
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

/// The run in flight's request, to abort; only ever set in the browser.
type InFlight = StoredValue<Option<SendWrapper<web_sys::AbortController>>>;

fn abort_run(in_flight: InFlight) {
    if let Some(controller) = in_flight.try_update_value(Option::take).flatten() {
        controller.abort();
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The version a saved result ran on, as the results views list versions.
pub(super) fn result_info(result: &VersionResult) -> ImageInfo {
    ImageInfo {
        image: result.image.clone(),
        php_version: result.php_version.clone(),
        ..ImageInfo::default()
    }
}

//! A run from request to results: cached results come back at once, the other versions wait
//! in line for room (the stream says where they stand), the permalink is saved (its id depends
//! only on the input; only once the run is admitted, so a run that never starts stores
//! nothing), the versions run, and every result is stored before it is sent. A run with ini
//! variants runs every version under each: each variant × version is a result of its own.

use crate::drain::RunInFlight;
use crate::extract::CheckedRun;
use crate::middleware::InFlight;
use crate::{AppError, AppState};
use app::model::{Clock, IniSettings, VersionResult};
use app::store::{cache_key, SnippetInput, Store};
use futures::{Stream, StreamExt};
use runner::Turn;
use std::pin::Pin;
use std::sync::Arc;

/// What a run sends, in order: where it waits (only if it must), its permalink id when it
/// was saved after waiting, its results; or why it could not start after waiting.
pub enum RunEvent {
    Waiting { ahead: usize },
    Saved(String),
    Result(Box<VersionResult>),
    Refused(AppError),
}

/// A started run: its permalink id when it was saved at once, and what it sends.
pub struct StartedRun<S> {
    pub id: Option<String>,
    pub events: S,
}

type Events = Pin<Box<dyn Stream<Item = RunEvent> + Send>>;

/// Looks up the cache (unless forced) and lines up what must run. A run admitted at once is
/// saved (when asked) and started here, so that its id can go in the answer's head; one that
/// must wait is answered at once, and its stream tells where it stands until it is admitted.
/// Errors that come before any waiting (bad size, full line, the client's cap) are the
/// answer's status.
pub async fn start(state: &AppState, mut run: CheckedRun) -> Result<StartedRun<Events>, AppError> {
    let cells = run.images.len() * run.spec.variants().len();
    let in_flight = (
        state.drain.enter()?,
        state.runs_in_flight.enter(run.client, cells)?,
    );
    let client = client_of(&run);
    let log = RunLog::new(run.client, cells);
    let (clock_at, saved_id) = clock_start(state, &run).await?;
    let images = std::mem::take(&mut run.images);
    let Plan {
        cached,
        keys,
        mut to_run,
    } = plan(state, &run, &images, clock_at).await;
    // More versions than the server ever runs at once: the first of them are admitted as one
    // run, the rest follow in waves (each version in line on its own, as room comes free).
    let wider = to_run.split_off(to_run.len().min(state.runner.capacity()));
    let admitted = Admitted {
        state: state.clone(),
        run,
        clock_at,
        saved_id,
        cached,
        keys,
        cells: to_run.iter().map(|cell| cell.ini.clone()).collect(),
        wider,
        client: client.clone(),
    };
    if to_run.is_empty() {
        return Ok(started_now(admitted.start(None).await?, in_flight, log));
    }
    let lined_up = std::time::Instant::now();
    let mut in_line = state
        .runner
        .line_up(to_run.iter().map(|cell| cell.image.clone()).collect(), &client)?;
    let ahead = match in_line.next().await {
        Some(Ok(Turn::Admitted(admission))) => {
            return Ok(started_now(
                admitted.start(Some(admission)).await?,
                in_flight,
                log,
            ));
        }
        Some(Ok(Turn::Waiting { ahead })) => ahead,
        Some(Err(error)) => return Err(error.into()),
        None => return Err(runner::AdmitError::ShuttingDown.into()),
    };
    let events = waiting_events(ahead, in_line, admitted, lined_up);
    Ok(StartedRun {
        id: None,
        events: hold(events, in_flight, log),
    })
}

/// What a run that must wait sends: where it stands in line, then once admitted its permalink
/// id (when saved) and its results; or why it was turned away.
fn waiting_events(
    ahead: usize,
    mut in_line: runner::InLine,
    admitted: Admitted,
    lined_up: std::time::Instant,
) -> impl Stream<Item = RunEvent> + Send + 'static {
    async_stream::stream! {
        yield RunEvent::Waiting { ahead };
        while let Some(turn) = in_line.next().await {
            let admission = match turn {
                Ok(Turn::Waiting { ahead }) => {
                    yield RunEvent::Waiting { ahead };
                    continue;
                }
                Ok(Turn::Admitted(admission)) => admission,
                Err(error) => {
                    yield RunEvent::Refused(error.into());
                    break;
                }
            };
            crate::metrics::waited(lined_up.elapsed());
            match admitted.start(Some(admission)).await {
                Ok((id, results)) => {
                    if let Some(id) = id {
                        yield RunEvent::Saved(id);
                    }
                    for await result in results {
                        yield RunEvent::Result(Box::new(result));
                    }
                }
                Err(error) => yield RunEvent::Refused(error),
            }
            break;
        }
    }
}

/// A run started without waiting: its results, held among the runs in flight.
fn started_now(
    (id, results): (Option<String>, impl Stream<Item = VersionResult> + Send + 'static),
    in_flight: (RunInFlight, Option<InFlight>),
    mut log: RunLog,
) -> StartedRun<Events> {
    log.id.clone_from(&id);
    let events = hold(
        results.map(|result| RunEvent::Result(Box::new(result))),
        in_flight,
        log,
    );
    StartedRun { id, events }
}

/// What a run needs: its results found in the cache, and the cells left to run (variant by
/// variant, so each variant's versions are next to each other in the admission); with each
/// result's image id and cache key, for recording it.
struct Plan {
    cached: Vec<VersionResult>,
    keys: Vec<RunKey>,
    to_run: Vec<Cell>,
}

async fn plan(state: &AppState, run: &CheckedRun, images: &[runner::Image], clock_at: Option<i64>) -> Plan {
    let sandbox = state.runner.sandbox_fingerprint();
    let input = SnippetInput::of(&run.spec, clock_at);
    let mut plan = Plan {
        cached: Vec::new(),
        keys: Vec::new(),
        to_run: Vec::new(),
    };
    for settings in run.spec.variants() {
        for image in images {
            let key = RunKey::new(input, &settings, image, &sandbox);
            let hit = match run.force {
                true => None,
                false => {
                    let hit = cached_result(&state.store, &key.cache_key, image, &settings).await;
                    crate::metrics::cache_lookup(hit.is_some());
                    hit
                }
            };
            plan.keys.push(key);
            match hit {
                Some(result) => plan.cached.push(result),
                None => plan.to_run.push(Cell {
                    image: image.clone(),
                    ini: settings.clone(),
                }),
            }
        }
    }
    plan
}

/// `events`, counted among the runs in flight (the instance's, the client's) for as long as they
/// last.
fn hold(
    events: impl Stream<Item = RunEvent> + Send + 'static,
    in_flight: (RunInFlight, Option<InFlight>),
    log: RunLog,
) -> Events {
    let mut log = WrittenWhenDropped(log);
    Box::pin(events.map(move |event| {
        let _held = &in_flight;
        if let RunEvent::Result(result) = &event {
            crate::metrics::saw_result(result);
        }
        log.0.saw(&event);
        event
    }))
}

/// The run's line in the log: its permalink, the client, and each version's status and time.
/// Never the code, the stdin or the output.
struct RunLog {
    /// The request's span, whose id the line carries wherever the last event is polled.
    span: tracing::Span,
    client: std::net::IpAddr,
    id: Option<String>,
    /// Results expected (versions × ini variants).
    cells: usize,
    started: std::time::Instant,
    results: Vec<Seen>,
    waited: bool,
}

/// One result as the log tells it.
struct Seen {
    image: String,
    status: &'static str,
    duration_ms: u64,
    cached: bool,
}

impl RunLog {
    fn new(client: std::net::IpAddr, cells: usize) -> Self {
        Self {
            span: tracing::Span::current(),
            client,
            id: None,
            cells,
            started: std::time::Instant::now(),
            results: Vec::new(),
            waited: false,
        }
    }

    fn saw(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Waiting { .. } => self.waited = true,
            RunEvent::Saved(id) => self.id = Some(id.clone()),
            RunEvent::Result(result) => self.results.push(Seen {
                image: result.image.clone(),
                status: result.outcome.status.as_str(),
                duration_ms: result.outcome.duration_ms,
                cached: result.cached,
            }),
            RunEvent::Refused(_) => {}
        }
    }

    fn write(&self) {
        let _in_request = self.span.enter();
        let list = |field: fn(&Seen) -> String| self.results.iter().map(field).collect::<Vec<_>>().join(",");
        tracing::info!(
            snippet = self.id.as_deref().unwrap_or("-"),
            client = %self.client,
            versions = %list(|seen| seen.image.clone()),
            statuses = %list(|seen| seen.status.to_owned()),
            durations_ms = %list(|seen| seen.duration_ms.to_string()),
            cached = self.results.iter().filter(|seen| seen.cached).count(),
            results = self.results.len(),
            expected = self.cells,
            waited = self.waited,
            wall_ms = self.started.elapsed().as_millis() as u64,
            "run"
        );
    }
}

/// A run's log that is written when its events end or are dropped (a client that hung up). Made
/// only once the run sends events: one refused before has the request's line, with its status.
struct WrittenWhenDropped(RunLog);

impl Drop for WrittenWhenDropped {
    fn drop(&mut self) {
        self.0.write();
    }
}

/// A run with room: what it still needs to start.
struct Admitted {
    state: AppState,
    run: CheckedRun,
    /// Where the script's clock starts (seconds since the epoch; `None`: the real time).
    clock_at: Option<i64>,
    /// The permalink id, when the clock's start was found on the saved snippet.
    saved_id: Option<String>,
    cached: Vec<VersionResult>,
    keys: Vec<RunKey>,
    /// The variant of each version the admission is for, in its order.
    cells: Vec<IniSettings>,
    /// The versions beyond the container limit, run in waves once the first are admitted.
    wider: Vec<Cell>,
    /// Whose run it is, for the line's turns.
    client: runner::ClientKey,
}

/// One result a run asks for: a version under an ini variant.
pub(crate) struct Cell {
    pub image: runner::Image,
    pub ini: IniSettings,
}

impl Admitted {
    /// Saves the snippet (when asked; only now, so that a run that never starts stores nothing)
    /// and starts the versions; returns the id and every result, cached ones first, each
    /// recorded as it comes.
    async fn start(
        self,
        admission: Option<runner::Admission>,
    ) -> Result<(Option<String>, impl Stream<Item = VersionResult> + Send + 'static), AppError> {
        let id = match (self.run.save, self.saved_id) {
            (true, Some(id)) => Some(id),
            (true, None) => Some(save(&self.state, &self.run, self.clock_at).await?),
            (false, _) => None,
        };
        let runner = &self.state.runner;
        let script = runner::Script::from(SnippetInput::of(&self.run.spec, self.clock_at));
        let fresh = admission.map(|admission| run_admitted(runner, &script, self.cells, admission));
        let waves = run_in_waves(runner, &script, self.wider, &self.client);
        let fresh = futures::stream::select(futures::stream::iter(fresh).flatten(), waves);
        let recorder = Arc::new(Recorder {
            store: self.state.store.clone(),
            id: id.clone(),
            keys: self.keys,
        });
        let results = futures::stream::iter(self.cached)
            .chain(fresh)
            .then(move |result| {
                let recorder = recorder.clone();
                async move { recorder.record(result).await }
            });
        Ok((id, results))
    }
}

/// Runs `script` on each admitted version under its variant (`cells`, in the admission's
/// order, each variant's versions next to each other); yields each result as it finishes,
/// marked with its variant.
pub(crate) fn run_admitted(
    runner: &runner::Runner,
    script: &runner::Script,
    cells: Vec<IniSettings>,
    mut admission: runner::Admission,
) -> impl Stream<Item = VersionResult> + Send + 'static {
    let mut parts = Vec::new();
    let mut rest = cells.as_slice();
    while let Some(settings) = rest.first() {
        let count = rest.iter().take_while(|other| *other == settings).count();
        let after = admission.split_off(count);
        let part = std::mem::replace(&mut admission, after);
        let results = runner.run_all(app::ssr::with_ini(script, settings), part);
        parts.push(marked(results, settings.clone()));
        rest = &rest[count..];
    }
    futures::stream::select_all(parts)
}

/// Runs `script` on versions beyond the container limit, each under its variant, in waves
/// (see [`runner::Runner::run_in_waves`]); yields each result as it finishes.
fn run_in_waves(
    runner: &runner::Runner,
    script: &runner::Script,
    cells: Vec<Cell>,
    client: &runner::ClientKey,
) -> impl Stream<Item = VersionResult> + Send + 'static {
    let mut variants: Vec<(IniSettings, Vec<runner::Image>)> = Vec::new();
    for cell in cells {
        match variants.iter_mut().find(|(settings, _)| *settings == cell.ini) {
            Some((_, images)) => images.push(cell.image),
            None => variants.push((cell.ini, vec![cell.image])),
        }
    }
    let parts = variants.into_iter().map(|(settings, images)| {
        let results = runner.run_in_waves(app::ssr::with_ini(script, &settings), images, client);
        marked(results, settings)
    });
    futures::stream::select_all(parts)
}

/// The results of a run under `settings`, each marked with them.
fn marked(
    results: impl Stream<Item = runner::Execution> + Send + 'static,
    settings: IniSettings,
) -> Pin<Box<dyn Stream<Item = VersionResult> + Send>> {
    Box::pin(results.map(move |execution| VersionResult {
        ini: settings.clone(),
        ..VersionResult::from(execution)
    }))
}

/// The line's key for the run's client: its address as quotas count it (IPv6 by /64).
fn client_of(run: &CheckedRun) -> runner::ClientKey {
    runner::ClientKey::new(crate::connections::client_key(run.client).to_string())
}

/// Where the run's clock starts: nowhere (real time), the time asked for, or for the default
/// fixed clock the first save's time (now, for a new snippet or a run not saved). Also the
/// permalink id when that took looking the snippet up.
async fn clock_start(state: &AppState, run: &CheckedRun) -> Result<(Option<i64>, Option<String>), AppError> {
    let now = runner::time::OffsetDateTime::now_utc().unix_timestamp();
    match run.spec.clock {
        Clock::Real => Ok((None, None)),
        Clock::At(at) => Ok((Some(at), None)),
        Clock::Saved if !run.save => Ok((Some(now), None)),
        Clock::Saved => match state.store.saved(SnippetInput::of(&run.spec, None)).await {
            Ok(Some(saved)) => Ok((saved.clock_at, Some(saved.id))),
            Ok(None) => Ok((Some(now), None)),
            Err(error) => Err(AppError::storage(error)),
        },
    }
}

/// Saves the snippet and returns its id; a new snippet counts against the client's quota.
async fn save(state: &AppState, run: &CheckedRun, clock_at: Option<i64>) -> Result<String, AppError> {
    let store = &state.store;
    let input = SnippetInput::of(&run.spec, clock_at);
    if let Some(saved) = store.saved(input).await.map_err(AppError::storage)? {
        return Ok(saved.id);
    }
    if let Some(quota) = &state.snippet_quota {
        quota.check(run.client)?;
    }
    Ok(store.save(input).await.map_err(AppError::storage)?.id)
}

async fn cached_result(
    store: &Store,
    key: &str,
    image: &runner::Image,
    ini: &IniSettings,
) -> Option<VersionResult> {
    match store.cached_result(key).await {
        Ok(result) => result.map(|result| VersionResult {
            // The image may answer to another name now; the result is the same.
            image: image.name.clone(),
            php_version: image.php_version.clone(),
            ini: ini.clone(),
            cached: true,
            // Whatever run put it in the cache, this one asked for it.
            added_later: false,
            ..result
        }),
        Err(error) => {
            tracing::error!(%error, "result cache unreadable; running instead");
            None
        }
    }
}

/// What a version's result is recorded under.
pub(crate) struct RunKey {
    /// The name the result carries...
    pub image: String,
    /// ...and the ini variant it ran under.
    pub ini: IniSettings,
    pub image_id: String,
    pub cache_key: String,
}

impl RunKey {
    /// The key of a run of `input` on `image` under the variant `settings`, in the sandbox with
    /// the fingerprint `sandbox`: its cache key counts that one variant, not all of the run's.
    pub fn new(
        input: SnippetInput<'_>,
        settings: &IniSettings,
        image: &runner::Image,
        sandbox: &str,
    ) -> Self {
        let input = SnippetInput {
            ini: std::slice::from_ref(settings),
            ..input
        };
        Self {
            image: image.name.clone(),
            ini: settings.clone(),
            image_id: image.id.clone(),
            cache_key: cache_key(input, &image.id, sandbox),
        }
    }
}

/// Where each result of a run is written as it arrives.
pub(crate) struct Recorder {
    pub store: Store,
    /// The permalink the results belong to, when the run is saved.
    pub id: Option<String>,
    /// Each result's image id and cache key.
    pub keys: Vec<RunKey>,
}

impl Recorder {
    /// Caches a fresh result and saves it with the snippet, marked unstable when the snippet's
    /// saved result from the same image says otherwise; returns it as recorded.
    pub async fn record(&self, mut result: VersionResult) -> VersionResult {
        let key = self
            .keys
            .iter()
            .find(|key| key.image == result.image && key.ini == result.ini);
        if let (Some(id), Some(key), false) = (&self.id, key, result.cached) {
            result.unstable = self.unstable(id, &key.image_id, &result).await;
        }
        if let Some(key) = key.filter(|_| !result.cached && app::store::cacheable(&result)) {
            if let Err(error) = self.store.cache_result(&key.cache_key, &result).await {
                tracing::error!(%error, "cannot cache a result");
            }
        }
        if let Some(id) = &self.id {
            let image_id = key.map(|key| key.image_id.as_str());
            if let Err(error) = self.store.save_result_of_image(id, &result, image_id).await {
                tracing::error!(%error, snippet = %id, "cannot save a result");
            }
        }
        result
    }

    /// Whether `fresh` and the snippet's saved result, run on the same image (`image_id`) under
    /// the same ini variant, tell that its output depends on more than the code: they differ, or
    /// the saved one was found unstable already. Two runs that differ prove it; no third run is
    /// made to confirm. Results that depend on the moment (timeouts, kills, errors) prove
    /// nothing.
    async fn unstable(&self, id: &str, image_id: &str, fresh: &VersionResult) -> bool {
        let saved = match self.store.saved_result(id, &fresh.image, &fresh.ini).await {
            Ok(Some(saved)) if saved.image_id.as_deref() == Some(image_id) => saved.result,
            Ok(_) => return false,
            Err(error) => {
                tracing::error!(%error, snippet = %id, "cannot read a saved result");
                return false;
            }
        };
        if !app::store::cacheable(&saved) || !app::store::cacheable(fresh) {
            return false;
        }
        let output = |r: &VersionResult| {
            (
                r.outcome.status,
                r.outcome.exit_code,
                r.outcome.stdout.clone(),
                r.outcome.stderr.clone(),
            )
        };
        saved.unstable || output(&saved) != output(fresh)
    }
}

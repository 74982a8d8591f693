//! Saved snippets meet new versions: when an image appears that was not offered before (pulled,
//! built), the snippets saved before it are run on it in the background, so that a permalink
//! shows the newest version too. Its results are marked `added_later`.
//!
//! Low priority by construction: one version of one snippet at a time, at most
//! `--backfill-per-minute` a minute, and only in room that is free this moment with nobody
//! waiting in line ([`runner::Runner::admit_if_idle`]); otherwise it tries again a moment later.
//! Which images are new is the store's to say (the first list ever seen is the baseline, so
//! turning this on re-runs nothing old).

use crate::runs::{run_admitted, Recorder, RunKey};
use crate::AppState;
use app::model::{Snippet, VersionResult};
use app::store::SnippetInput;
use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How soon to try again when a run waits in line or no room is free.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// Starts re-running saved snippets on new versions, `per_minute` at most (0: never), until
/// `stop` is cancelled. The runner's shutdown stops a run in flight and removes its container.
pub fn spawn(state: AppState, per_minute: u32, stop: CancellationToken) {
    if per_minute == 0 {
        return;
    }
    let every = Duration::from_secs(60) / per_minute;
    tokio::spawn(async move {
        let mut pause = Duration::ZERO;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            let step = tokio::select! {
                () = stop.cancelled() => return,
                step = next(&state) => step,
            };
            pause = match step {
                Step::Busy => BUSY_RETRY.min(every),
                Step::Ran | Step::Done => every,
            };
        }
    });
}

enum Step {
    /// One snippet ran on one new version.
    Ran,
    /// Something waits to run, but a user's run waits or no room is free.
    Busy,
    /// Nothing to do (or the engine or the database cannot say).
    Done,
}

/// Records which images are offered, then runs the oldest snippet that waits for a new one.
/// One that cannot run there is recorded as such, so the next look-up moves past it (the store
/// tries it again later, a few times).
async fn next(state: &AppState) -> Step {
    let Ok(images) = state.runner.images().await else {
        return Step::Done;
    };
    let names: Vec<String> = images.iter().map(|image| image.name.clone()).collect();
    match state.store.record_images_seen(&names).await {
        Ok(new) if !new.is_empty() => {
            tracing::info!(images = ?new, "new versions: saved snippets will be run on them")
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot record the offered images");
            return Step::Done;
        }
    }
    for image in images {
        let waiting = match state.store.awaiting_image(&image.name, &image.id, 1).await {
            Ok(waiting) => waiting,
            Err(error) => {
                tracing::warn!(%error, "cannot look for snippets to run on new versions");
                return Step::Done;
            }
        };
        let Some(id) = waiting.into_iter().next() else {
            continue;
        };
        let snippet = match state.store.snippet(&id).await {
            Ok(Some(snippet)) => snippet,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, snippet = %id, "cannot read a snippet to run on a new version");
                return Step::Done;
            }
        };
        // The new version under each of the snippet's ini variants, all at once or not yet.
        let variants = snippet.ini.len().max(1);
        let Some(admission) = state.runner.admit_if_idle(vec![image.clone(); variants]) else {
            return Step::Busy;
        };
        let ran = run_on(state, &snippet, image.clone(), admission).await;
        crate::metrics::backfilled(ran);
        if !ran {
            if let Err(error) = state
                .store
                .record_backfill_failure(&id, &image.name, &image.id)
                .await
            {
                tracing::warn!(%error, snippet = %id, "cannot record a failure to run on a new version");
            }
        }
        return Step::Ran;
    }
    Step::Done
}

/// Runs `snippet` on `image` with its own input, under each of its ini variants, and records
/// the results as added later, all or none: false when a variant could not run (then nothing is
/// saved, and the next try runs every variant again — a saved result for the image would take
/// the snippet off the list of those awaiting it).
async fn run_on(
    state: &AppState,
    snippet: &Snippet,
    image: runner::Image,
    admission: runner::Admission,
) -> bool {
    let id = &snippet.id;
    let input = SnippetInput::from(snippet);
    let variants = app::model::run_variants(input.ini);
    let sandbox = state.runner.sandbox_fingerprint();
    let recorder = Recorder {
        store: state.store.clone(),
        id: Some(id.to_owned()),
        keys: variants
            .iter()
            .map(|settings| RunKey::new(input, settings, &image, &sandbox))
            .collect(),
    };
    let script = runner::Script::from(input);
    let results: Vec<VersionResult> = run_admitted(&state.runner, &script, variants, admission)
        .collect()
        .await;
    if let Some(failed) = results
        .iter()
        .find(|result| result.outcome.status == app::model::Status::Error)
    {
        tracing::warn!(snippet = %id, image = %image.name, message = ?failed.message, "cannot run a snippet on a new version");
        return false;
    }
    for result in results {
        recorder
            .record(VersionResult {
                added_later: true,
                ..result
            })
            .await;
    }
    tracing::info!(snippet = %id, image = %image.name, "ran a saved snippet on a new version");
    true
}

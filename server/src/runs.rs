//! A run from request to results: cached results come back at once, the other versions are
//! admitted, the permalink is saved (its id depends only on the code; only once the run is
//! admitted, so a busy server stores nothing), the versions run, and every result is stored
//! before it is sent.

use crate::extract::CheckedRun;
use crate::{AppError, AppState};
use app::model::VersionResult;
use app::store::{cache_key, Store};
use futures::{Stream, StreamExt};
use std::sync::Arc;

/// A started run: its permalink id when saved, and its results in completion order.
pub struct StartedRun<S> {
    pub id: Option<String>,
    pub results: S,
}

/// Looks up the cache (unless forced), admits what must run, saves (when asked) and starts it.
pub async fn start(
    state: &AppState,
    mut run: CheckedRun,
) -> Result<StartedRun<impl Stream<Item = VersionResult> + Send + 'static>, AppError> {
    let store = state.store.clone();
    let settings = state.runner.sandbox_fingerprint();

    let mut cached = Vec::new();
    let mut to_run = Vec::new();
    // The cache key of each version that runs now, by image name, for recording its result.
    let mut keys = Vec::new();
    for image in std::mem::take(&mut run.images) {
        let key = cache_key(&run.code, &image.id, &settings);
        let hit = match run.force {
            true => None,
            false => cached_result(&store, &key, &image).await,
        };
        match hit {
            Some(result) => cached.push(result),
            None => {
                keys.push((image.name.clone(), key));
                to_run.push(image);
            }
        }
    }
    let admission = match to_run.is_empty() {
        true => None,
        false => Some(state.runner.admit(to_run).await?),
    };
    let id = match run.save {
        true => Some(save(state, &run).await?),
        false => None,
    };
    let fresh = admission.map(|admission| state.runner.run_all(&run.code, admission));
    let fresh = futures::stream::iter(fresh).flatten().map(VersionResult::from);

    let recorder = Arc::new(Recorder {
        store,
        id: id.clone(),
        keys,
    });
    let results = futures::stream::iter(cached).chain(fresh).then(move |result| {
        let recorder = recorder.clone();
        async move {
            recorder.record(&result).await;
            result
        }
    });
    Ok(StartedRun { id, results })
}

/// Saves the snippet and returns its id; a new snippet counts against the client's quota.
async fn save(state: &AppState, run: &CheckedRun) -> Result<String, AppError> {
    let store = &state.store;
    if let Some(id) = store.saved_id(&run.code).await.map_err(AppError::storage)? {
        return Ok(id);
    }
    if let Some(quota) = &state.snippet_quota {
        quota.check(run.client)?;
    }
    store.save_snippet(&run.code).await.map_err(AppError::storage)
}

async fn cached_result(store: &Store, key: &str, image: &runner::Image) -> Option<VersionResult> {
    match store.cached_result(key).await {
        Ok(result) => result.map(|result| VersionResult {
            // The image may answer to another name now; the result is the same.
            image: image.name.clone(),
            php_version: image.php_version.clone(),
            cached: true,
            ..result
        }),
        Err(error) => {
            tracing::error!(%error, "result cache unreadable; running instead");
            None
        }
    }
}

/// Where each result of a run is written as it arrives.
struct Recorder {
    store: Store,
    /// The permalink the results belong to, when the run is saved.
    id: Option<String>,
    /// The cache key of each version that runs now, by image name.
    keys: Vec<(String, String)>,
}

impl Recorder {
    async fn record(&self, result: &VersionResult) {
        let key = self.keys.iter().find(|(image, _)| *image == result.image);
        if let Some((_, key)) = key.filter(|_| app::store::cacheable(result)) {
            if let Err(error) = self.store.cache_result(key, result).await {
                tracing::error!(%error, "cannot cache a result");
            }
        }
        if let Some(id) = &self.id {
            if let Err(error) = self.store.save_result(id, result).await {
                tracing::error!(%error, snippet = %id, "cannot save a result");
            }
        }
    }
}

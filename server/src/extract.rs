//! Extractors that turn a request into checked, typed input, or a clear 4xx.

use crate::{AppError, AppState};
use app::model::RunRequest;
use axum::extract::{FromRequest, Request};
use axum::Json;

/// A run request whose code passed the limits, whose images all resolved to discovered images
/// (client strings never reach Docker: only the resolved images do), and that was admitted
/// under the global container limit.
pub struct CheckedRun {
    pub code: String,
    pub images: Vec<runner::Image>,
    pub admission: runner::Admission,
}

impl FromRequest<AppState> for CheckedRun {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let Json(run) = Json::<RunRequest>::from_request(request, state)
            .await
            .map_err(|rejection| AppError::new(rejection.status(), rejection.body_text()))?;
        run.validate(&state.limits).map_err(AppError::bad_request)?;
        let images = state.runner.resolve(&run.images).await?;
        let admission = state.runner.admit(images.len()).await?;
        Ok(Self {
            code: run.code,
            images,
            admission,
        })
    }
}

//! Extractors that turn a request into checked, typed input, or a clear 4xx.

use crate::{AppError, AppState};
use app::model::{RunRequest, RunSpec};
use axum::extract::{FromRequest, Request};
use axum::Json;

/// A run request that passed the limits, what it asks in its one checked form ([`RunSpec`]: the
/// form that is run, hashed and stored), its images all resolved to discovered images (client
/// strings never reach Docker: only the resolved images do) and every ini setting one a run may
/// set.
pub struct CheckedRun {
    /// What it asks of every version.
    pub spec: RunSpec,
    pub images: Vec<runner::Image>,
    pub save: bool,
    pub force: bool,
    /// Who asks, for per-client quotas.
    pub client: std::net::IpAddr,
}

impl FromRequest<AppState> for CheckedRun {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = request
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |info| info.0.ip());
        let client = state.trusted_proxies.client(peer, request.headers());
        let Json(run) = Json::<RunRequest>::from_request(request, state)
            .await
            .map_err(|rejection| AppError::new(rejection.status(), rejection.body_text()))?;
        let spec = run.check(&state.limits).map_err(AppError::bad_request)?;
        let images = state.runner.resolve(&run.images).await?;
        // Two names of one image (`php:8.4-cli`, `php:8.4.27-cli`) would run it twice.
        for (index, image) in images.iter().enumerate() {
            if let Some(first) = images[..index].iter().position(|earlier| earlier.id == image.id) {
                return Err(AppError::bad_request(format!(
                    "{:?} and {:?} are the same image; list it once",
                    run.images[first], run.images[index]
                )));
            }
        }
        for (index, variant) in spec.ini.iter().enumerate() {
            for (name, value) in variant {
                runner::check_ini_setting(name, value)
                    .map_err(|why| AppError::bad_request(format!("ini variant {}: {why}", index + 1)))?;
            }
        }
        Ok(Self {
            spec,
            images,
            save: run.save,
            force: run.force,
            client,
        })
    }
}

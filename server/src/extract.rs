//! Extractors that turn a request into checked, typed input, or a clear 4xx.

use crate::{AppError, AppState};
use app::model::{IniSettings, RunRequest};
use axum::extract::{FromRequest, Request};
use axum::Json;

/// A run request whose code passed the limits and whose images all resolved to discovered
/// images (client strings never reach Docker: only the resolved images do). The code is in its
/// normalized form: the form that is run, hashed and stored.
pub struct CheckedRun {
    pub code: String,
    pub stdin: String,
    /// How the clock was asked for; where it starts is settled when the run starts.
    pub clock: app::model::Clock,
    pub show: app::model::Show,
    /// The ini variants, each name and value checked; empty: the images' own settings only
    /// (also what `[{}]` asks for). Whether a version knows a setting is checked per version.
    pub ini: Vec<IniSettings>,
    pub images: Vec<runner::Image>,
    pub save: bool,
    pub force: bool,
    /// Who asks, for per-client quotas.
    pub client: std::net::IpAddr,
}

impl CheckedRun {
    /// The variants every version runs under, in order: the images' own settings alone when
    /// the run asks for none.
    pub fn variants(&self) -> Vec<IniSettings> {
        app::model::run_variants(&self.ini)
    }
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
        run.validate(&state.limits).map_err(AppError::bad_request)?;
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
        for (index, variant) in run.ini.iter().enumerate() {
            for (name, value) in variant {
                runner::check_ini_setting(name, value)
                    .map_err(|why| AppError::bad_request(format!("ini variant {}: {why}", index + 1)))?;
            }
        }
        Ok(Self {
            code: app::model::normalize(&run.code),
            ini: app::model::normalize_ini(run.ini),
            clock: app::model::Clock::unless_asked(run.clock, run.save),
            show: run.show,
            stdin: run.stdin,
            images,
            save: run.save,
            force: run.force,
            client,
        })
    }
}

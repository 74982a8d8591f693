use app::model::ApiError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API failure: a status code and a message for the user, sent as `{"error": "…"}`.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds after which trying again makes sense (503, 429), sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The database failed: the user cannot fix it, the operator must. The details go to the
    /// log only (they may name files and SQL); the answer carries a reference to find them.
    pub fn storage(error: app::store::StoreError) -> Self {
        let reference = incident_reference();
        tracing::error!(%error, %reference, "storage failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the server could not store or read data; it is logged as {reference}"),
        )
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// A short reference that ties an answer to its log line: seconds since the epoch and a
/// counter, in hex.
fn incident_reference() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("E{seconds:x}-{n:x}")
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = Json(ApiError { error: self.message });
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<app::export::ExportError> for AppError {
    fn from(error: app::export::ExportError) -> Self {
        use app::export::ExportError;
        let status = match error {
            ExportError::NoSuchVariant(_) | ExportError::NoSuchImage(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, error.to_string())
    }
}

impl From<runner::ResolveError> for AppError {
    fn from(error: runner::ResolveError) -> Self {
        match error {
            runner::ResolveError::UnknownImage(_) => Self::bad_request(error.to_string()),
            runner::ResolveError::Discover(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
        }
    }
}

impl From<runner::AdmitError> for AppError {
    fn from(error: runner::AdmitError) -> Self {
        // Every refusal of admission becomes an answer here: counted here.
        let cap = match error {
            runner::AdmitError::ShuttingDown => Some(crate::metrics::Cap::Draining),
            runner::AdmitError::Busy { .. } => Some(crate::metrics::Cap::AdmissionWait),
            runner::AdmitError::LineFull { .. } => Some(crate::metrics::Cap::MaxWaitingRuns),
            runner::AdmitError::TooLarge { .. } => None,
        };
        if let Some(cap) = cap {
            crate::metrics::refused(cap);
        }
        match error {
            runner::AdmitError::ShuttingDown => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).retry_after(1)
            }
            // The line was full, or stayed too long: come back once it has moved.
            runner::AdmitError::Busy { .. } | runner::AdmitError::LineFull { .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).retry_after(5)
            }
            runner::AdmitError::TooLarge { .. } => Self::bad_request(error.to_string()),
        }
    }
}

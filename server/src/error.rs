use app::model::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// An API failure: a status code and a message for the user, sent as `{"error": "…"}`.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = Json(ApiError {
            error: self.message,
        });
        (self.status, body).into_response()
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

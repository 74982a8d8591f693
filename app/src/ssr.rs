//! Server-only glue between the engine's types and the wire types.

use crate::model::{ImageInfo, VersionResult};
use runner::time::format_description::well_known::Rfc3339;
use runner::time::OffsetDateTime;

pub fn image_info(image: &runner::Image) -> ImageInfo {
    ImageInfo {
        image: image.name.clone(),
        php_version: image.php_version.clone(),
        variant: image.variant.clone(),
        extensions: image.extensions.clone(),
    }
}

impl<'a> From<&'a runner::Image> for crate::model::Build<'a> {
    fn from(image: &'a runner::Image) -> Self {
        Self {
            php_version: &image.php_version,
            libraries: &image.libraries,
            extensions: &image.extensions,
            ini: &image.ini,
        }
    }
}

impl From<crate::store::SnippetInput<'_>> for runner::Script {
    /// What a run of `input` sends into each container, under the image's own ini settings
    /// (each of its ini variants is [`with_ini`] of it).
    fn from(input: crate::store::SnippetInput<'_>) -> Self {
        runner::Script {
            code: input.code.to_owned(),
            stdin: input.stdin.to_owned(),
            clock: input
                .clock_at
                .and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()),
            show: input.show,
            ini: Vec::new(),
        }
    }
}

/// `script` under the ini variant `settings` (none: the image's defaults).
pub fn with_ini(script: &runner::Script, settings: &crate::model::IniSettings) -> runner::Script {
    runner::Script {
        ini: settings
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        ..script.clone()
    }
}

impl From<runner::Execution> for VersionResult {
    fn from(execution: runner::Execution) -> Self {
        let rfc3339 = |at: Option<OffsetDateTime>| at.and_then(|t| t.format(&Rfc3339).ok());
        VersionResult {
            image: execution.image,
            php_version: execution.php_version,
            outcome: execution.outcome,
            started_at: rfc3339(execution.started_at),
            finished_at: rfc3339(execution.finished_at),
            cpu_time_us: execution.usage.cpu_time_us,
            peak_memory_bytes: execution.usage.peak_memory_bytes,
            cached: false,
            message: execution.message,
            fixed_clock: execution.fixed_clock,
            added_later: false,
            unstable: false,
            ini: Default::default(),
        }
    }
}

//! `server images …`: `list` prints what evalgrid would offer; `pull REF…` (and `--pull`) fetches
//! images through the engine, with a progress bar per layer on a terminal and one line per step
//! elsewhere (logs, tests).
// A command's own output for the person who typed it, not a log.
#![allow(clippy::print_stderr)]

use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;

/// Runs `server images …`; its exit status: 0 done, 1 not done (the engine's answer says
/// why), 2 cannot start (the isolation asked for is refused), as the server's own start.
pub async fn run(config: &crate::Config, command: &crate::config::ImagesCommand) -> i32 {
    use crate::config::ImagesCommand;
    let runner = match command {
        // Which isolation is in force is part of the list, so the check runs.
        ImagesCommand::List => match crate::isolation::runner(config, config.runner_config()).await {
            Ok(runner) => runner,
            Err(error) => {
                tracing::error!("{error}");
                return 2;
            }
        },
        ImagesCommand::Pull { .. } => runner::Runner::new(config.runner_config()),
    };
    let done = match command {
        ImagesCommand::List => list(&runner).await,
        ImagesCommand::Pull { references } => pull_all(&runner, references).await,
    };
    // Discovery's version probes are removed in the background: wait for that before the
    // exit, or their containers stay behind.
    if !runner.shut_down(crate::config::CLEANUP_GRACE).await {
        tracing::warn!("some containers could not be removed in time");
    }
    match done {
        true => 0,
        false => 1,
    }
}

/// Prints the images evalgrid would offer, oldest PHP version first, as a table on stdout;
/// returns whether the engine answered.
pub async fn list(runner: &runner::Runner) -> bool {
    let images = match runner.images().await {
        Ok(images) => images,
        Err(error) => {
            eprintln!("error: {error}");
            return false;
        }
    };
    println!("{}", images_table(&images));
    println!("isolation: {}", runner.isolation().as_str());
    true
}

/// One line per image: version, variant, name and other tags, short image id, extensions.
fn images_table(images: &[runner::Image]) -> String {
    let rows: Vec<[String; 5]> = images
        .iter()
        .map(|image| {
            let tags = std::iter::once(image.name.as_str())
                .chain(image.aliases.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(", ");
            let id = image.id.trim_start_matches("sha256:");
            [
                image.php_version.clone(),
                image.variant.clone(),
                tags,
                id[..id.len().min(12)].to_owned(),
                image.extensions.len().to_string(),
            ]
        })
        .collect();
    let header = ["VERSION", "VARIANT", "TAGS", "IMAGE ID", "EXTENSIONS"].map(str::to_owned);
    let widths: Vec<usize> = (0..5)
        .map(|column| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    std::iter::once(&header)
        .chain(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Pulls each reference in turn; returns whether all of them came.
pub async fn pull_all(runner: &runner::Runner, references: &[String]) -> bool {
    let mut all = true;
    for reference in references {
        match pull(runner, reference).await {
            Ok(()) => eprintln!("{reference}: pulled; evalgrid offers it once discovery sees it"),
            Err(error) => {
                eprintln!("error: {error}");
                all = false;
            }
        }
    }
    all
}

/// Pulls `reference`, drawing its progress on stderr.
async fn pull(runner: &runner::Runner, reference: &str) -> Result<(), runner::PullError> {
    let terminal = std::io::stderr().is_terminal();
    let bars = MultiProgress::with_draw_target(match terminal {
        true => ProgressDrawTarget::stderr(),
        false => ProgressDrawTarget::hidden(),
    });
    let style = ProgressStyle::with_template("{prefix:.bold} {bar:30} {bytes:>10}/{total_bytes:<10} {msg}")
        .expect("a valid template");
    let mut layers: HashMap<String, ProgressBar> = HashMap::new();
    let mut progress = std::pin::pin!(runner.pull(reference));
    while let Some(step) = progress.next().await {
        let step = step?;
        let Some(layer) = step
            .layer
            .clone()
            .filter(|_| step.total.is_some() || is_layer_step(&step.status))
        else {
            // About the whole image: "Pulling from …", "Digest: …", "Status: …".
            match terminal {
                true => bars
                    .println(format!("{reference}: {}", step.status))
                    .unwrap_or(()),
                false => eprintln!("{reference}: {}", step.status),
            }
            continue;
        };
        let finished = step.status.starts_with("Pull complete") || step.status.starts_with("Already exists");
        let bar = layers.entry(layer.clone()).or_insert_with(|| {
            if !terminal && !finished {
                eprintln!("{reference}: layer {layer}: {}", step.status);
            }
            let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
            bar.set_prefix(layer.clone());
            bar
        });
        if let (Some(current), Some(total)) = (step.current, step.total) {
            bar.set_length(total);
            bar.set_position(current);
        }
        bar.set_message(step.status.clone());
        if finished {
            bar.finish();
            if !terminal {
                eprintln!("{reference}: layer {layer}: {}", step.status);
            }
        }
    }
    Ok(())
}

/// Steps that are about one layer (their `id` is the layer's).
fn is_layer_step(status: &str) -> bool {
    [
        "Pulling fs layer",
        "Waiting",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Extracting",
        "Pull complete",
        "Already exists",
    ]
    .iter()
    .any(|step| status.starts_with(step))
}

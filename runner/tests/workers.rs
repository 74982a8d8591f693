//! Runs in workers (fresh namespaces per run inside a long-lived container per image) against
//! the real engine: the same results as single-use containers, and nothing of a run reaches
//! the next one on the same worker.

use futures::StreamExt;
use runner::testing::{fresh_instance_id, Containers};
use runner::{Execution, Isolation, Runner, RunnerConfig};

struct Workers {
    runner: Runner,
    containers: Containers,
}

fn config(isolation: Isolation) -> RunnerConfig {
    RunnerConfig {
        instance_id: fresh_instance_id(),
        isolation,
        ..RunnerConfig::default()
    }
}

impl Workers {
    fn new(config: RunnerConfig) -> Self {
        let containers = Containers::of(&config.instance_id);
        Self {
            runner: Runner::new(config),
            containers,
        }
    }

    async fn run_all(&self, images: &[&str], code: &str) -> Vec<Execution> {
        let names: Vec<String> = images.iter().map(|n| n.to_string()).collect();
        let images = self.runner.resolve(&names).await.expect("the test images exist");
        let admission = self.runner.admit(images).await.unwrap();
        let mut results: Vec<Execution> = self.runner.run_all(code, admission).collect().await;
        results.sort_by(|a, b| a.image.cmp(&b.image));
        results
    }

    async fn stop(self) {
        assert!(self.runner.shut_down(std::time::Duration::from_secs(30)).await);
        self.containers.assert_none_left().await;
    }
}

#[tokio::test]
async fn a_worker_serves_runs_one_after_another() {
    let workers = Workers::new(config(Isolation::Namespaces));
    for round in 0..3 {
        let results = workers
            .run_all(
                &["php:8.4-cli", "php:7.4-cli"],
                &format!("<?php echo 'round {round} ', PHP_VERSION, \"\\n\";"),
            )
            .await;
        for result in &results {
            println!("{result:?}");
            assert_eq!(result.status, runner::Status::Ok, "{result:?}");
            assert!(
                result.stdout.starts_with(&format!("round {round} ")),
                "{result:?}"
            );
        }
    }
    assert_eq!(
        workers.containers.count().await,
        2,
        "one worker per image, reused"
    );
    workers.stop().await;
}

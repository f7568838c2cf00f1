//! `securestamp serve`: load the configuration, migrate, listen until a signal.

use anyhow::Context;

use crate::config::Config;
use crate::startup::{Application, shutdown_signal};

#[derive(Debug, Default, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts) -> anyhow::Result<()> {
    let config = Config::load()?;
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), "SecureStamp is listening");
    app.run_until(shutdown_signal())
        .await
        .context("the server stopped with an error")
}

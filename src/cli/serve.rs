//! `securestamp serve`: load the configuration, migrate, listen until a signal.

use anyhow::Context;

use crate::config::Config;
use crate::startup::{Application, shutdown_signal};

#[derive(Debug, Default, clap::Args)]
pub struct Opts {}

pub async fn run(_opts: Opts) -> anyhow::Result<()> {
    let config = Config::load()?;
    let public_url = config.public_url.clone();
    let app = Application::build(config).await?;
    let address = app.local_addr();
    tracing::info!(%address, "SecureStamp is listening");
    // Said plainly on stderr as well, whatever RUST_LOG hides.
    let url = match public_url {
        Some(url) => url.to_string(),
        None if address.ip().is_unspecified() => format!("http://localhost:{}/", address.port()),
        None => format!("http://{address}/"),
    };
    eprintln!("SecureStamp is running: open {url} in a browser");
    app.run_until(shutdown_signal())
        .await
        .context("the server stopped with an error")
}

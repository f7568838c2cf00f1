//! `securestamp verify FILE RECEIPT`: every proof in the receipt, checked
//! offline; exit status 0 only if all of them hold.

use std::path::PathBuf;

use anyhow::Context;

use crate::proofs::receipt::Receipt;
use crate::proofs::verification::{self, TrustedKeys};

#[derive(Debug, clap::Args)]
pub struct Opts {
    /// The file the receipt is for.
    file: PathBuf,
    /// The receipt downloaded from the file's page.
    receipt: PathBuf,
    /// Trust this TSA certificate chain (PEM) instead of the copy in the receipt.
    #[arg(long, value_name = "PEM")]
    tsa_chain: Option<PathBuf>,
    /// Trust this OpenPGP public key (ASCII armor) instead of the copy in the receipt.
    #[arg(long, value_name = "ASC")]
    openpgp_key: Option<PathBuf>,
    /// Trust this transparency log verifier key (a file holding `<origin>+<id>+<key>`,
    /// as served at /keys/log.vkey) instead of the copy in the receipt.
    #[arg(long, value_name = "VKEY")]
    log_key: Option<PathBuf>,
    /// Trust the keys this SecureStamp server publishes (at URL/keys/…), fetched
    /// now: the receipt must then have been made by that server.
    #[arg(long, value_name = "URL", conflicts_with_all = ["tsa_chain", "openpgp_key", "log_key"])]
    server: Option<String>,
}

/// The keys `server` publishes, fetched through the log monitor's client
/// (which takes proxies from `ALL_PROXY`/`HTTPS_PROXY`, for onion services).
fn published_keys(server: &str) -> anyhow::Result<TrustedKeys> {
    let server = server.trim_end_matches('/');
    let remote = crate::cli::log::remote::Remote::new(format!("{server}/log"));
    Ok(TrustedKeys {
        tsa_chain: Some(remote.text(&format!("{server}/keys/tsa-chain.pem"))?),
        openpgp_key: Some(remote.text(&format!("{server}/keys/openpgp.asc"))?),
        log_key: Some(remote.published_key()?),
    })
}

/// Prints one line per proof; the error (exit status 1) says how many failed.
pub fn run(opts: Opts) -> anyhow::Result<()> {
    let read = |path: &PathBuf| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let receipt = Receipt::parse(&read(&opts.receipt)?)
        .with_context(|| opts.receipt.display().to_string())?;
    let text = |path: &Option<PathBuf>| -> anyhow::Result<Option<String>> {
        path.as_ref()
            .map(|p| read(p).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
            .transpose()
    };
    let keys = match &opts.server {
        Some(server) => published_keys(server)?,
        None => TrustedKeys {
            tsa_chain: text(&opts.tsa_chain)?,
            openpgp_key: text(&opts.openpgp_key)?,
            log_key: text(&opts.log_key)?,
        },
    };
    let file = std::fs::File::open(&opts.file)
        .with_context(|| format!("cannot open {}", opts.file.display()))?;
    let report = verification::verify(
        std::io::BufReader::with_capacity(1 << 20, file),
        &receipt,
        &keys,
    );
    for check in &report.checks {
        match &check.outcome {
            Ok(detail) => println!("OK      {}: {detail}", check.proof),
            Err(reason) => println!("FAILED  {}: {reason}", check.proof),
        }
    }
    let unpinned: Vec<&str> = [
        ("--tsa-chain", keys.tsa_chain.is_none()),
        ("--openpgp-key", keys.openpgp_key.is_none()),
        ("--log-key", keys.log_key.is_none() && receipt.log.is_some()),
    ]
    .into_iter()
    .filter_map(|(option, unpinned)| unpinned.then_some(option))
    .collect();
    if !unpinned.is_empty() {
        eprintln!(
            "warning: without {} the keys inside the receipt were trusted: this shows that the receipt is consistent, not who made it. Give the keys you trust, or --server URL to trust those the server publishes at /keys/.",
            unpinned.join(", ")
        );
    }
    let failed = report.checks.iter().filter(|c| c.outcome.is_err()).count();
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} proofs failed",
        report.checks.len()
    );
    Ok(())
}

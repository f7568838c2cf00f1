//! `securestamp db …`: schema management without serving.

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DbCommand {
    /// Apply every pending migration (serving applies them too); a no-op when up to date.
    Upgrade,
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    match opts.command {
        DbCommand::Upgrade => {
            let config = Config::load()?;
            let db = crate::db::connect(&config.database_url).await?;
            let applied = crate::db::migrate(&db, &config.database_url).await?;
            if applied == 0 {
                println!("database is up to date");
            } else {
                println!("applied {applied} migration(s)");
            }
            Ok(())
        }
    }
}

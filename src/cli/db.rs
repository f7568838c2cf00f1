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
    /// Import the files of the original Flask application's rows: each is
    /// stored, signed and stamped now, and keeps its id, owner and name. The
    /// old files are left in place. Exit status 1 if a row's file could not be read;
    /// running again imports what is left.
    ImportFiles {
        /// Where the original application kept its files (default: UPLOAD_FOLDER).
        #[arg(long, value_name = "FOLDER")]
        from: Option<std::path::PathBuf>,
    },
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
        DbCommand::ImportFiles { from } => {
            let config = Config::load()?;
            let folder = from.unwrap_or_else(|| config.upload_folder.clone());
            let vault = crate::startup::open_vault(&config).await?;
            let done = crate::legacy::import_files(&vault, &folder).await?;
            println!(
                "imported {} file(s), {} bytes, stamped now",
                done.files, done.bytes
            );
            for (id, why) in &done.left {
                println!("left file {id}: {why}");
            }
            match done.left.len() {
                0 => Ok(()),
                left => anyhow::bail!(
                    "{left} file(s) could not be read; their rows are kept: put them in place and run this again"
                ),
            }
        }
    }
}

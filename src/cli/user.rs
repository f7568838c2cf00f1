//! `securestamp user …`: the operator's account commands, straight on the
//! database (no server needs to run): list, disable and enable accounts,
//! reset a password or a second factor, and make invite codes.

use anyhow::Context;

use crate::config::Config;
use crate::db;
use crate::db::users::User;
use crate::time::{display, unix_now};

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Every account: id, username, email, created, second factor, disabled.
    List,
    /// Stop an account signing in: its sessions end at once and its API
    /// tokens stop working; its files stay.
    Disable {
        /// The username or email.
        user: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        /// The username or email.
        user: String,
    },
    /// Give the account a new random password, printed once; its sessions end.
    ResetPassword {
        /// The username or email.
        user: String,
    },
    /// Turn the account's two-factor sign-in off (a lost phone and lost
    /// recovery codes); its password alone signs in again.
    #[command(name = "reset-2fa")]
    Reset2fa {
        /// The username or email.
        user: String,
    },
    /// Make a single-use invite code for `REGISTRATION=invite`.
    Invite {
        /// Days it stays valid.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

pub async fn run(opts: Opts) -> anyhow::Result<()> {
    let config = Config::load_without_secret()?;
    let db = db::connect(&config.database_url).await?;
    db::migrate(&db, &config.database_url).await?;
    match opts.command {
        UserCommand::List => list(&db).await,
        UserCommand::Disable { user } => {
            let user = find(&db, &user).await?;
            db::users::set_disabled(&db, user.id, Some(unix_now())).await?;
            let ended = db::sessions::delete_all(&db, user.id).await?;
            println!("disabled {} ({ended} session(s) ended)", user.username);
            Ok(())
        }
        UserCommand::Enable { user } => {
            let user = find(&db, &user).await?;
            db::users::set_disabled(&db, user.id, None).await?;
            println!("enabled {}", user.username);
            Ok(())
        }
        UserCommand::ResetPassword { user } => {
            let user = find(&db, &user).await?;
            let password = new_password();
            let hasher = crate::auth::PasswordHasher::start(config.hashing)
                .await
                .context("starting the password workers")?;
            let parsed = crate::domain::Password::parse_new(password.clone())
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let hash = hasher.hash(&parsed).await?;
            db::users::set_password_hash(&db, user.id, hash).await?;
            let ended = db::sessions::delete_all(&db, user.id).await?;
            println!("new password for {}: {password}", user.username);
            println!(
                "({ended} session(s) ended; give it to them safely, and ask them to change it)"
            );
            Ok(())
        }
        UserCommand::Reset2fa { user } => {
            let user = find(&db, &user).await?;
            db::two_factor::remove(&db, user.id).await?;
            println!("two-factor sign-in is off for {}", user.username);
            Ok(())
        }
        UserCommand::Invite { days } => {
            let code = crate::accounts::invite(&db, days).await?;
            let base = config
                .public_url
                .as_ref()
                .map(|url| url.as_str().trim_end_matches('/').to_owned())
                .unwrap_or_default();
            println!("invite code (valid {days} day(s), once): {code}");
            println!("{base}/auth/register?invite={code}");
            Ok(())
        }
    }
}

async fn find(db: &sea_orm::DatabaseConnection, login: &str) -> anyhow::Result<User> {
    db::users::find_by_login(db, login)
        .await?
        .with_context(|| format!("no account is called {login}"))
}

async fn list(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    println!("id\tusername\temail\tcreated\ttwo-factor\tdisabled");
    for user in db::users::all(db).await? {
        let two_factor = db::two_factor::find(db, user.id)
            .await?
            .is_some_and(|credential| credential.confirmed_at.is_some());
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            user.id,
            user.username,
            user.email,
            user.created_at.format("%Y-%m-%d %H:%M UTC"),
            if two_factor { "on" } else { "off" },
            user.disabled_at.map(display).unwrap_or_else(|| "no".into()),
        );
    }
    Ok(())
}

/// 20 characters from an alphabet without look-alikes: about 115 bits.
fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

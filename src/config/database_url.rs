//! `DATABASE_URL`: which of the three supported databases, and where.

use std::fmt;
use std::path::Path;

use crate::secret::Secret;

/// The database products SecureStamp runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    MySql,
    Postgres,
}

/// A validated connection URL. It may hold a password, so `Display` shows it
/// with the password replaced.
#[derive(Clone, Debug)]
pub struct DatabaseUrl {
    backend: Backend,
    url: Secret<String>,
}

impl DatabaseUrl {
    /// Accepts `sqlite:PATH`, `mysql://…` (also `mariadb://` and SQLAlchemy's
    /// `mysql+pymysql://` spellings) and `postgres://…` / `postgresql://…`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (scheme, rest) = raw
            .split_once(':')
            .ok_or_else(|| "expected sqlite:PATH, mysql://… or postgres://…".to_owned())?;
        // SQLAlchemy URLs name a Python driver after a `+`; it means nothing here.
        let scheme = scheme
            .split('+')
            .next()
            .unwrap_or(scheme)
            .to_ascii_lowercase();
        let (backend, url) = match scheme.as_str() {
            "sqlite" => (Backend::Sqlite, sqlite_url(rest)?),
            "mysql" | "mariadb" => (Backend::MySql, format!("mysql:{rest}")),
            "postgres" | "postgresql" => (Backend::Postgres, format!("postgres:{rest}")),
            other => {
                return Err(format!(
                    "unsupported database `{other}`; use sqlite:PATH, mysql://… or postgres://…"
                ));
            }
        };
        if backend != Backend::Sqlite {
            let parsed = url::Url::parse(&url).map_err(|e| format!("not a valid URL: {e}"))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("the URL names no host".into());
            }
            if parsed.path().trim_start_matches('/').is_empty() {
                return Err("the URL names no database".into());
            }
        }
        Ok(DatabaseUrl {
            backend,
            url: Secret::new(url),
        })
    }

    /// The embedded default: an SQLite file in the data directory.
    pub fn sqlite_in(data_dir: &Path) -> Self {
        let path = data_dir.join("securestamp.sqlite3");
        DatabaseUrl {
            backend: Backend::Sqlite,
            url: Secret::new(format!("sqlite://{}?mode=rwc", path.display())),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database's file; `None` for the other databases and for
    /// in-memory ones.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.url.expose().strip_prefix("sqlite://")?;
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        (!path.is_empty() && !path.starts_with(':') && !path.starts_with("file:"))
            .then(|| path.into())
    }

    /// The URL to connect with, password included.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }
}

/// `sqlite:PATH`, `sqlite://PATH` or `sqlite:///abs/path`, creating the file if missing.
fn sqlite_url(rest: &str) -> Result<String, String> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    // SQLAlchemy writes `sqlite:///relative` and `sqlite:////absolute`; sqlx
    // writes `sqlite://path`. All reduce to a plain path.
    let path = path
        .strip_prefix("///")
        .or_else(|| path.strip_prefix("//"))
        .unwrap_or(path);
    if path.is_empty() {
        return Err("sqlite: needs a file path, e.g. sqlite:data/securestamp.sqlite3".into());
    }
    let query = if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        query.to_owned()
    };
    Ok(format!("sqlite://{path}?{query}"))
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self.url.expose()) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                f.write_str(url.as_str())
            }
            _ => f.write_str(self.url.expose()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_style_mysql_urls_are_accepted() {
        let url = DatabaseUrl::parse("mysql+pymysql://user:pw@localhost/securestamp").unwrap();
        assert_eq!(url.backend(), Backend::MySql);
        assert_eq!(url.expose(), "mysql://user:pw@localhost/securestamp");
        assert_eq!(url.to_string(), "mysql://user:***@localhost/securestamp");
    }

    #[test]
    fn postgres_and_sqlite_spellings_are_normalised() {
        let pg = DatabaseUrl::parse("postgresql://u@db:5432/app").unwrap();
        assert_eq!(
            (pg.backend(), pg.expose()),
            (Backend::Postgres, "postgres://u@db:5432/app")
        );
        let lite = DatabaseUrl::parse("sqlite:data/x.db").unwrap();
        assert_eq!(lite.expose(), "sqlite://data/x.db?mode=rwc");
        let abs = DatabaseUrl::parse("sqlite:////tmp/x.db").unwrap();
        assert_eq!(abs.expose(), "sqlite:///tmp/x.db?mode=rwc");
        let relative = DatabaseUrl::parse("sqlite:///app.db").unwrap();
        assert_eq!(relative.expose(), "sqlite://app.db?mode=rwc");
    }

    #[test]
    fn unusable_urls_say_why() {
        assert!(
            DatabaseUrl::parse("oracle://x/y")
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(DatabaseUrl::parse("nonsense").is_err());
        assert!(
            DatabaseUrl::parse("mysql://localhost")
                .unwrap_err()
                .contains("no database")
        );
        assert!(DatabaseUrl::parse("sqlite:").is_err());
    }
}

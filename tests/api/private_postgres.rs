//! A PostgreSQL server of the test's own, in a temporary folder on a port of
//! its own, that the test stops and starts again as an outage would.
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`: Debian's
//! `postgresql` package puts them in `/usr/lib/postgresql/<version>/bin`);
//! skipped without them, except under `CI=true`. PostgreSQL refuses to run as
//! root, so as root the server runs as the `postgres` user.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::in_ci;

pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// The `postgres` user's ids when the tests run as root.
    owner: Option<(u32, u32)>,
    pub port: u16,
}

impl PrivatePostgres {
    /// A new cluster, started; `None` (with a note) where PostgreSQL's
    /// server programs are missing off CI.
    pub fn start() -> Option<PrivatePostgres> {
        PrivatePostgres::start_in(&std::env::temp_dir())
    }

    /// A new cluster in a folder under `parent` (e.g. on a small disk to
    /// fill), with small write-ahead log segments so that its files stay few
    /// and small; started.
    pub fn start_in(parent: &Path) -> Option<PrivatePostgres> {
        let Some(bin) = server_programs() else {
            assert!(
                !in_ci(),
                "PostgreSQL's initdb and pg_ctl are missing (CI requires them)"
            );
            eprintln!("skipped: PostgreSQL's initdb and pg_ctl are not installed");
            return None;
        };
        let dir = tempfile::tempdir_in(parent).expect("a folder for the cluster");
        let owner = running_as_root().then(postgres_user);
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown the cluster");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let postgres = PrivatePostgres {
            bin,
            dir,
            owner,
            port,
        };
        let data = postgres.data();
        postgres.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--wal-segsize=1",
            ],
        );
        postgres.resume();
        Some(postgres)
    }

    /// What the server under test is given as `DATABASE_URL`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash or a pulled cable would: every
    /// connection is cut.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts the (stopped) server again and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c min_wal_size=4MB -c max_wal_size=16MB",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.owner {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|error| panic!("{program}: {error}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}

/// The folder holding `initdb` and `pg_ctl`: on `PATH`, or Debian's newest
/// `/usr/lib/postgresql/<version>/bin`.
fn server_programs() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    debian.sort_by_key(|dir| {
        dir.parent()
            .and_then(Path::file_name)
            .and_then(|version| version.to_str()?.parse::<u32>().ok())
    });
    on_path
        .chain(debian.into_iter().rev())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|me| me.uid() == 0)
}

fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id postgres");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("the postgres user (as root, PostgreSQL runs as it)")
    };
    (id("-u"), id("-g"))
}

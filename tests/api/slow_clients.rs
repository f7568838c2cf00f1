//! Slow and idle clients: a request head that never ends, a body that stops
//! arriving, more connections than the server keeps open. None of them holds
//! the server, and everyone else goes on being served.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, Database, Process, TestApp};

async fn spawn(db: &Database, extra: &[(&str, &str)]) -> TestApp {
    db.spawn_with(extra).await
}

/// Reads until the server closes the connection; answers what it sent.
async fn until_closed(socket: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    });
    read.await
        .unwrap_or_else(|_| panic!("the server still holds the connection after {within:?}"));
    received
}

/// A slowloris client sends its head a byte at a time and never ends it; the
/// server closes it once the head timeout passes, and serves others meanwhile.
#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_at_the_head_timeout() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = spawn(&db, &[("HEADER_TIMEOUT", "1")]).await;
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let drip = async {
        for byte in b"X-Slow: ".iter().cycle() {
            if slow.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let others = async {
        let script = app.script();
        for _ in 0..5 {
            assert_eq!(script.get("/healthz").await.status(), StatusCode::OK);
        }
    };
    // The drip ends when the server has closed the connection.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::join!(drip, others);
    });
    ended.await.expect("the server cut the slow head off");
    let answered = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(
        !String::from_utf8_lossy(&answered).contains("200 OK"),
        "an unfinished head got an answer"
    );
}

/// A keep-alive connection that goes quiet after its answer is closed after
/// the head timeout too.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = spawn(&db, &[("HEADER_TIMEOUT", "1")]).await;
    let mut idle = TcpStream::connect(app.address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200 OK"));
}

/// Past `MAX_CONNECTIONS`, a new client waits for a free slot rather than
/// being read: the server holds no more sockets than that. It is served as
/// soon as one of the others goes.
#[tokio::test]
async fn past_the_connection_cap_a_client_waits_for_a_free_slot() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = spawn(&db, &[("MAX_CONNECTIONS", "3"), ("HEADER_TIMEOUT", "60")]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(app.address).await.unwrap());
    }
    let script = app.script();
    let waiting = tokio::spawn(async move { script.get("/healthz").await.status() });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a fourth connection was served");
    held.pop();
    let status = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
}

/// An upload whose body stops arriving is answered 408 once the body timeout
/// passes, and what it had sent is not kept.
#[tokio::test]
async fn an_upload_that_stops_arriving_is_refused_and_leaves_nothing() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = spawn(&db, &[("BODY_TIMEOUT", "1")]).await;
    let (script, csrf) = app.signed_in_script("sam").await;
    let head = b"stalled ".repeat(512 * 1024);
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(head)])
        .chain(futures_util::stream::pending());
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name("stalled.txt");
    let answer = tokio::time::timeout(
        Duration::from_secs(20),
        script
            .http
            .post(script.url("/upload"))
            .header("x-csrf-token", &csrf)
            .multipart(reqwest::multipart::Form::new().part("files", part))
            .send(),
    )
    .await
    .expect("an answer once the body timeout passed")
    .unwrap();
    assert_eq!(answer.status(), StatusCode::REQUEST_TIMEOUT);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(app.stored_files("staging").is_empty());
    assert!(app.stored_files("objects").is_empty());
}

/// SIGTERM with a client stalled mid-upload: the server waits for it no
/// longer than `SHUTDOWN_GRACE`, then exits.
#[tokio::test]
async fn shutdown_waits_for_a_stalled_client_no_longer_than_the_grace_period() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::start(&db, dir.path(), &[("SHUTDOWN_GRACE", "1")]).await;
    let mut stalled = TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stalled
        .write_all(b"POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: 59\r\n\r\n0")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let status = server.exited(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
    until_closed(&mut stalled, Duration::from_secs(5)).await;
}

//! Uploading, listing, downloading and deleting files.

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{csrf_in, location, on_every_database, on_every_storage};

const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

on_every_storage! {
    async fn several_files_round_trip_byte_for_byte(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("olga").await;
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let files: [(&str, &[u8]); 3] = [("résumé 履歴書.pdf", PDF), ("empty.txt", b""), ("data.zip", &binary)];
        let response = script.upload(&csrf, &files).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let stored = body["files"].as_array().unwrap();
        assert_eq!(stored.len(), 3);
        for ((name, bytes), file) in files.iter().zip(stored) {
            assert_eq!(file["original_filename"], *name);
            assert_eq!(file["size"], bytes.len());
            assert_eq!(file["sha256"], sha256(bytes));
            assert!(file["uploaded_at"].as_str().unwrap().ends_with('Z'));
            let content = file["links"]["content"].as_str().unwrap();
            let downloaded = script.get(content).await.bytes().await.unwrap();
            assert_eq!(&downloaded[..], *bytes, "{name}");
        }
        assert_eq!(stored[0]["content_type"], "application/pdf");

        let listing: Value = script.get("/files").await.json().await.unwrap();
        let names: Vec<&str> = listing["files"].as_array().unwrap().iter().map(|f| f["original_filename"].as_str().unwrap()).collect();
        assert_eq!(names, ["data.zip", "empty.txt", "résumé 履歴書.pdf"], "newest first");
        assert!(app.stored_files("staging").is_empty());
    }

    async fn a_browser_uploads_with_the_plain_form(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("pete", "pete@example.com", "long enough").await;
        browser.sign_in("pete", "long enough").await;
        let page = browser.get("/upload").await.text().await.unwrap();
        let csrf = csrf_in(&page);
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf)
            .part("files", reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("<i>bold<i>.pdf"));
        let response = browser.http.post(browser.url("/upload")).header("origin", browser.url("")).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/dashboard");
        let dashboard = browser.get("/dashboard").await.text().await.unwrap();
        assert!(!dashboard.contains("<i>bold"), "the name is escaped: {dashboard}");
        assert!(dashboard.contains("&#60;i&#62;bold&#60;i&#62;.pdf") || dashboard.contains("&lt;i&gt;bold&lt;i&gt;.pdf"));
    }

    async fn one_refused_file_means_nothing_is_stored(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("quinn").await;
        let refused = script.upload(&csrf, &[("good.pdf", PDF), ("tool.exe", b"MZ\x90\0")]).await;
        assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let message = refused.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("tool.exe") && message.contains(".exe"), "{message}");

        let disguised = script.upload(&csrf, &[("good.pdf", PDF), ("photo.png", PDF)]).await;
        assert_eq!(disguised.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(disguised.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("photo.png"));

        assert_eq!(db.count("files").await, 0);
        assert_eq!(db.count("blobs").await, 0);
        assert!(app.stored_files("staging").is_empty(), "no staged bytes left");
        assert!(app.stored_files("objects").is_empty());

        let no_files = reqwest::multipart::Form::new().text("note", "no files here");
        let empty = script.http.post(script.url("/upload")).header("x-csrf-token", &csrf).multipart(no_files).send().await.unwrap();
        assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    async fn other_users_files_answer_like_missing_ones(db) {
        let app = db.spawn().await;
        let (alice, alice_csrf) = app.signed_in_script("rita").await;
        let stored: Value = alice.upload(&alice_csrf, &[("secret.pdf", PDF)]).await.json().await.unwrap();
        let id = stored["files"][0]["id"].as_i64().unwrap();
        let (bob, bob_csrf) = app.signed_in_script("sam").await;

        let missing = bob.get("/files/999999").await;
        let foreign = bob.get(&format!("/files/{id}")).await;
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
        assert_eq!(foreign.json::<Value>().await.unwrap(), missing.json::<Value>().await.unwrap());
        assert_eq!(bob.get(&format!("/files/{id}/download")).await.status(), StatusCode::NOT_FOUND);
        let delete = bob.http.delete(bob.url(&format!("/files/{id}"))).header("x-csrf-token", &bob_csrf).send().await.unwrap();
        assert_eq!(delete.status(), StatusCode::NOT_FOUND);
        assert_eq!(bob.get("/files/not-a-number").await.status(), StatusCode::NOT_FOUND);

        assert_eq!(alice.get(&format!("/files/{id}/download")).await.bytes().await.unwrap(), PDF);
    }

    async fn uploads_need_the_csrf_token_first(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("tess").await;
        let part = || reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("a.pdf");
        let send = |form: reqwest::multipart::Form| script.http.post(script.url("/upload")).multipart(form).send();

        let without = send(reqwest::multipart::Form::new().part("files", part())).await.unwrap();
        assert_eq!(without.status(), StatusCode::FORBIDDEN);
        let late = send(reqwest::multipart::Form::new().part("files", part()).text("csrf_token", csrf.clone())).await.unwrap();
        assert_eq!(late.status(), StatusCode::FORBIDDEN);
        let forged = send(reqwest::multipart::Form::new().text("csrf_token", "forged").part("files", part())).await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let good = send(reqwest::multipart::Form::new().text("csrf_token", csrf).part("files", part())).await.unwrap();
        assert_eq!(good.status(), StatusCode::CREATED);
        assert_eq!(db.count("files").await, 1);
    }

    async fn bodies_over_the_limit_are_refused_and_leave_no_bytes(db) {
        let app = db.spawn_with(&[("MAX_CONTENT_LENGTH", "64KiB")]).await;
        let (script, csrf) = app.signed_in_script("uma").await;
        let big = vec![b'x'; 256 * 1024];
        let declared = script.upload(&csrf, &[("big.txt", &big)]).await;
        assert_eq!(declared.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // Chunked, so the limit is only crossed mid-stream.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..16).map(|_| Ok(vec![b'y'; 16 * 1024])).collect();
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let form = reqwest::multipart::Form::new().part("files", reqwest::multipart::Part::stream(body).file_name("stream.txt"));
        let streamed = script.http.post(script.url("/upload")).header("x-csrf-token", &csrf).multipart(form).send().await.unwrap();
        assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(streamed.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
        assert_eq!(db.count("files").await, 0);
        assert!(app.stored_files("staging").is_empty() && app.stored_files("objects").is_empty());
    }

    async fn shared_content_is_stored_once_and_survives_one_owners_delete(db) {
        let app = db.spawn().await;
        let (alice, alice_csrf) = app.signed_in_script("vera").await;
        let (bob, bob_csrf) = app.signed_in_script("walt").await;
        let a: Value = alice.upload(&alice_csrf, &[("same.pdf", PDF)]).await.json().await.unwrap();
        let b: Value = bob.upload(&bob_csrf, &[("copy.pdf", PDF), ("again.pdf", PDF)]).await.json().await.unwrap();
        assert_eq!(app.stored_contents(&db).await, 1, "identical content is stored once");

        let a_id = a["files"][0]["id"].as_i64().unwrap();
        let deleted = alice.http.delete(alice.url(&format!("/files/{a_id}"))).header("x-csrf-token", &alice_csrf).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(alice.get(&format!("/files/{a_id}")).await.status(), StatusCode::NOT_FOUND);
        for file in b["files"].as_array().unwrap() {
            let content = file["links"]["content"].as_str().unwrap();
            assert_eq!(bob.get(content).await.bytes().await.unwrap(), PDF, "the other owner keeps the content");
        }
        for file in b["files"].as_array().unwrap() {
            let id = file["id"].as_i64().unwrap();
            let gone = bob.http.delete(bob.url(&format!("/files/{id}"))).header("x-csrf-token", &bob_csrf).send().await.unwrap();
            assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        }
        assert_eq!(app.stored_contents(&db).await, 0, "the last owner's delete frees the content");
        assert_eq!(db.count("blobs").await, 0);
    }

    async fn pages_stay_stable_while_uploads_happen(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("xena").await;
        for i in 0..7 {
            let name = format!("f{i}.txt");
            assert_eq!(script.upload(&csrf, &[(&name, format!("file {i}").as_bytes())]).await.status(), StatusCode::CREATED);
        }
        let mut seen = Vec::new();
        let mut next = Some("/files?limit=3".to_owned());
        let mut pages = 0;
        while let Some(url) = next {
            let page: Value = script.get(&url).await.json().await.unwrap();
            seen.extend(page["files"].as_array().unwrap().iter().map(|f| f["original_filename"].as_str().unwrap().to_owned()));
            next = page["next"].as_str().map(str::to_owned);
            pages += 1;
            // A new upload between pages must not shift what follows.
            script.upload(&csrf, &[(&format!("late{pages}.txt"), b"late")]).await;
        }
        assert_eq!(seen, ["f6.txt", "f5.txt", "f4.txt", "f3.txt", "f2.txt", "f1.txt", "f0.txt"]);
        assert_eq!(pages, 3);
        assert_eq!(script.get("/files?before=abc").await.status(), StatusCode::BAD_REQUEST);
    }

    async fn downloads_answer_head_range_and_etag(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("yves").await;
        let stored: Value = script.upload(&csrf, &[("naïve \"notes\".txt", b"0123456789")]).await.json().await.unwrap();
        let url = stored["files"][0]["links"]["content"].as_str().unwrap().to_owned();
        let etag = format!("\"{}\"", sha256(b"0123456789"));

        let full = script.get(&url).await;
        assert_eq!(full.headers()["etag"], etag.as_str());
        assert_eq!(full.headers()["content-disposition"], "attachment; filename=\"na_ve _notes_.txt\"; filename*=UTF-8''na%C3%AFve%20%22notes%22.txt");
        assert_eq!(full.headers()["x-content-type-options"], "nosniff");
        assert!(full.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));

        let head = script.http.head(script.url(&url)).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert_eq!(head.headers()["content-length"], "10");
        assert!(head.bytes().await.unwrap().is_empty());

        let range = script.http.get(script.url(&url)).header("range", "bytes=2-4").send().await.unwrap();
        assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(range.headers()["content-range"], "bytes 2-4/10");
        assert_eq!(range.bytes().await.unwrap(), "234");

        let cached = script.http.get(script.url(&url)).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        let unsatisfiable = script.http.get(script.url(&url)).header("range", "bytes=50-60").send().await.unwrap();
        assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }

    async fn a_quota_refuses_the_whole_request_that_exceeds_it(db) {
        // Each file counts 4 KiB for its row: 600 + 4096, then 2 × (300 + 4096).
        let app = db.spawn_with(&[("USER_QUOTA_BYTES", "10000")]).await;
        let (script, csrf) = app.signed_in_script("zoe").await;
        assert_eq!(script.upload(&csrf, &[("a.txt", &[b'a'; 600])]).await.status(), StatusCode::CREATED);
        let over = script.upload(&csrf, &[("b.txt", &[b'b'; 300]), ("c.txt", &[b'c'; 300])]).await;
        assert_eq!(over.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(over.json::<Value>().await.unwrap()["error"]["code"], "quota_exceeded");
        assert_eq!(db.count("files").await, 1);
        assert!(app.stored_files("staging").is_empty());
    }

    async fn empty_files_count_against_the_quota(db) {
        // Five rows of 4 KiB fit in 20 KiB, a sixth does not.
        let app = db.spawn_with(&[("USER_QUOTA_BYTES", "20KiB")]).await;
        let (script, csrf) = app.signed_in_script("una").await;
        let five: Vec<(String, &[u8])> = (0..5).map(|i| (format!("e{i}.txt"), &b""[..])).collect();
        let five: Vec<(&str, &[u8])> = five.iter().map(|(n, b)| (n.as_str(), *b)).collect();
        assert_eq!(script.upload(&csrf, &five).await.status(), StatusCode::CREATED);
        let sixth = script.upload(&csrf, &[("e5.txt", b"")]).await;
        assert_eq!(sixth.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(sixth.json::<Value>().await.unwrap()["error"]["code"], "quota_exceeded");
        assert_eq!(db.count("files").await, 5);
    }

    async fn an_upload_of_more_files_than_allowed_is_refused_whole(db) {
        let app = db.spawn_with(&[("MAX_FILES_PER_UPLOAD", "3")]).await;
        let (script, csrf) = app.signed_in_script("vera").await;
        let names: Vec<String> = (0..4).map(|i| format!("f{i}.txt")).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let over = script.upload(&csrf, &files).await;
        assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = over.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_files");
        assert!(body["error"]["message"].as_str().unwrap().contains('3'), "{body}");
        assert_eq!(db.count("files").await, 0);
        assert!(app.stored_files("staging").is_empty());
        // Parts that are not files count too: they cost a parse each.
        let mut form = reqwest::multipart::Form::new();
        for i in 0..5 {
            form = form.text(format!("padding{i}"), "x");
        }
        let form = form.part("files", reqwest::multipart::Part::bytes(&b"x"[..]).file_name("one.txt"));
        let padded = script.upload_form(&csrf, form).await;
        assert_eq!(padded.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // Within the cap all is well.
        assert_eq!(script.upload(&csrf, &files[..3]).await.status(), StatusCode::CREATED);
        assert_eq!(db.count("files").await, 3);
    }

    async fn hostile_file_names_are_stored_harmlessly(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("ada").await;
        let long = format!("{}.txt", "n".repeat(300));
        // Too large to be kept in the database: the content goes to storage.
        let content = vec![b'x'; 200 * 1024];
        for (sent, kept) in [
            ("../../etc/passwd.txt", "passwd.txt"),
            ("C:\\Windows\\CON.txt", "CON.txt"),
            ("tab\tname.txt", "tabname.txt"),
            ("right\u{202E}txt.exe.txt", "righttxt.exe.txt"),
        ] {
            let response = script.upload(&csrf, &[(sent, &content)]).await;
            assert_eq!(response.status(), StatusCode::CREATED, "{sent:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["files"][0]["original_filename"], kept);
        }
        // NUL and most control characters cannot even travel in a part header:
        // refused as malformed, never a server error.
        for sent in ["nul\u{0}byte.txt", "bell\u{7}.txt"] {
            let status = script.upload(&csrf, &[(sent, b"x")]).await.status();
            assert!(matches!(status, StatusCode::BAD_REQUEST | StatusCode::CREATED), "{sent:?}: {status}");
        }
        let response = script.upload(&csrf, &[(&long, b"x")]).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["files"][0]["original_filename"].as_str().unwrap().chars().count(), 200);
        let objects = app.stored_files("objects");
        assert_eq!(objects.len(), 1, "{objects:?}");
        for path in objects {
            assert!(path.starts_with(app.uploads().join("objects")), "{path:?}");
        }
    }
}

#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let mut stream = upload_by_hand(&app, "bea").await;
    let part =
        "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"half.txt\"\r\n\r\n";
    stream.write_all(part.as_bytes()).await.unwrap();
    // More than the staging buffer holds, so that a staging file exists.
    stream.write_all(&vec![b'h'; 1_500_000]).await.unwrap();
    stream.flush().await.unwrap();
    vanish(&app, stream).await;
    assert!(app.stored_files("objects").is_empty());
    assert_eq!(db.count("files").await, 0);
}

#[tokio::test]
async fn a_client_that_disconnects_mid_batch_of_small_files_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let mut stream = upload_by_hand(&app, "cid").await;
    // Whole files too large to be kept in the database and small enough to
    // be written in one call, staged and synced in the background, then half
    // of one more; and small ones, kept in memory for the database.
    for n in 0..40 {
        let part = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"f{n}.txt\"\r\n\r\nfile number {n}\n{}\r\n",
            "x".repeat(150 * 1024)
        );
        stream.write_all(part.as_bytes()).await.unwrap();
        let small = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"s{n}.txt\"\r\n\r\nsmall {n}\r\n"
        );
        stream.write_all(small.as_bytes()).await.unwrap();
    }
    let last =
        "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"last.txt\"\r\n\r\nhal";
    stream.write_all(last.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    vanish(&app, stream).await;
    assert!(app.stored_files("objects").is_empty());
    assert_eq!(db.count("files").await, 0);
    assert_eq!(db.count("blobs").await, 0);
}

/// A signed-in upload spoken by hand up to the start of its body, so that
/// the body can stop anywhere.
async fn upload_by_hand(app: &crate::helpers::TestApp, name: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let (cookie, csrf) = session_by_hand(app, name).await;
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let request = format!(
        "POST /upload HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nX-CSRF-Token: {csrf}\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 10000000\r\n\r\n",
        app.address
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Lets the server stage what it got, checks that it did, then drops the
/// connection and checks that staging empties.
async fn vanish(app: &crate::helpers::TestApp, stream: tokio::net::TcpStream) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !app.stored_files("staging").is_empty(),
        "the upload was under way"
    );
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        app.stored_files("staging").is_empty(),
        "{:?}",
        app.stored_files("staging")
    );
}

/// Registers and signs in without a cookie jar; returns the `Cookie` header
/// value of the session and its CSRF token.
async fn session_by_hand(app: &crate::helpers::TestApp, name: &str) -> (String, String) {
    let http = crate::helpers::http_client();
    let json = |r: reqwest::RequestBuilder| r.header("accept", "application/json");
    let first = |response: &reqwest::Response| {
        let value = response
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap();
        value.split(';').next().unwrap().to_owned()
    };
    let page = json(http.get(app.url("/auth/login"))).send().await.unwrap();
    let presession = first(&page);
    let csrf = page.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = serde_json::json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"});
    let post = |path: &str, body: &Value| {
        json(http.post(app.url(path)))
            .header("cookie", &presession)
            .header("x-csrf-token", &csrf)
            .json(body)
            .send()
    };
    assert_eq!(
        post("/auth/register", &account).await.unwrap().status(),
        StatusCode::CREATED
    );
    let signed_in = post("/auth/login", &account).await.unwrap();
    let cookie = first(&signed_in);
    let token = signed_in.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (cookie, token)
}

on_every_database! {
    async fn content_left_by_a_crash_is_collected_but_content_in_use_is_kept(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("ivan").await;
        assert_eq!(script.upload(&csrf, &[("kept.pdf", PDF)]).await.status(), StatusCode::CREATED);
        // What a process killed between placing content and committing its rows leaves.
        let orphan = b"placed, never committed";
        let hash = sha256(orphan);
        let path = app.uploads().join("objects").join(&hash[..2]).join(&hash);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, orphan).unwrap();

        let conn = db.connect().await;
        let storage = securestamp::storage::Storage::Disk(securestamp::storage::Disk::open(&app.uploads()).await.unwrap());
        let removed = securestamp::vault::collect_orphans(&conn, &storage, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(removed, 1);
        assert!(!path.exists());
        assert_eq!(app.stored_contents(&db).await, 1, "the file in use keeps its content");
        let listed: Value = script.get("/files").await.json().await.unwrap();
        let url = listed["files"][0]["links"]["content"].as_str().unwrap().to_owned();
        assert_eq!(script.get(&url).await.bytes().await.unwrap(), PDF);
        assert_eq!(db.count("blobs").await, 1);
    }
}

on_every_database! {
    async fn a_retry_with_the_same_idempotency_key_answers_the_first_upload_and_stores_nothing(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("yara").await;
        let files: [(&str, &[u8]); 2] = [("a.txt", b"first"), ("b.txt", b"second")];
        let first = script.upload_with_key(&csrf, "retry-me-1", &files).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        assert!(first.headers().get("idempotent-replayed").is_none());
        let first: Value = first.json().await.unwrap();

        let retry = script.upload_with_key(&csrf, "retry-me-1", &files).await;
        assert_eq!(retry.status(), StatusCode::CREATED);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        let retry: Value = retry.json().await.unwrap();
        assert_eq!(retry, first, "the first answer, exactly");
        assert_eq!(db.count("files").await, 2);
        assert_eq!(db.count("log_entries").await, 2, "nothing stamped twice");

        // Two sent at once with a new key: one stores, both answer it.
        let (a, b) = tokio::join!(
            script.upload_with_key(&csrf, "at-once", &[("c.txt", b"third")]),
            script.upload_with_key(&csrf, "at-once", &[("c.txt", b"third")]),
        );
        assert_eq!((a.status(), b.status()), (StatusCode::CREATED, StatusCode::CREATED));
        let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
        assert_eq!(a["files"][0]["id"], b["files"][0]["id"]);
        assert_eq!(db.count("files").await, 3);
        assert!(app.stored_files("staging").is_empty());

        // Once its files are deleted, the key answers that, and stores nothing.
        let id = a["files"][0]["id"].as_i64().unwrap();
        let deleted = script
            .http
            .delete(app.url(&format!("/files/{id}")))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let gone = script.upload_with_key(&csrf, "at-once", &[("c.txt", b"third")]).await;
        assert_eq!(gone.status(), StatusCode::CONFLICT);
        assert_eq!(gone.json::<Value>().await.unwrap()["error"]["code"], "idempotency_key_in_use");
        assert_eq!(db.count("files").await, 2);

        // Keys are the user's own, and last a day.
        let (other, other_csrf) = app.signed_in_script("zack").await;
        let theirs = other.upload_with_key(&other_csrf, "retry-me-1", &files).await;
        assert_eq!(theirs.status(), StatusCode::CREATED);
        assert!(theirs.headers().get("idempotent-replayed").is_none());
        assert_eq!(db.count("files").await, 4);
        db.execute("UPDATE upload_keys SET created_at = created_at - 90000").await;
        let later = script.upload_with_key(&csrf, "retry-me-1", &files).await;
        assert!(later.headers().get("idempotent-replayed").is_none());
        assert_eq!(db.count("files").await, 6);

        let bad = script.upload_with_key(&csrf, &"k".repeat(256), &files).await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert_eq!(db.count("files").await, 6);
    }
}

on_every_database! {
    async fn two_uploads_at_once_cannot_both_pass_the_quota(db) {
        // Either fits (3000 + 4096 for its row), not both.
        let app = db.spawn_with(&[("USER_QUOTA_BYTES", "10000")]).await;
        let (script, csrf) = app.signed_in_script("quota").await;
        let (a, b) = tokio::join!(
            script.upload(&csrf, &[("a.txt", &[b'a'; 3000])]),
            script.upload(&csrf, &[("b.txt", &[b'b'; 3000])]),
        );
        let mut statuses = [a.status(), b.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::CREATED, StatusCode::INSUFFICIENT_STORAGE]);
        assert_eq!(db.count("files").await, 1);
        assert_eq!(app.stored_contents(&db).await, 1, "the refused upload's content was removed");
        assert!(app.stored_files("staging").is_empty());
    }
}

/// Deleting a file and revoking a token ask first, on a page of their own
/// (so without JavaScript too): the link only asks, the page's button acts,
/// and the file page keeps Delete away from Download.
#[tokio::test]
async fn deleting_a_file_or_revoking_a_token_asks_first() {
    let Some(db) = crate::helpers::Database::create(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let app = db.spawn().await;
    let browser = app.browser();
    browser
        .register("ines", "ines@example.com", "long enough")
        .await;
    browser.sign_in("ines", "long enough").await;
    let csrf = csrf_in(&browser.get("/upload").await.text().await.unwrap());
    let stored = browser
        .upload(&csrf, &[("minutes.txt", b"kept until asked")])
        .await;
    assert_eq!(stored.status(), StatusCode::SEE_OTHER);
    let id: i64 = {
        let list = browser.get("/files").await.text().await.unwrap();
        regex_lite::Regex::new(r#"href="/files/(\d+)""#)
            .unwrap()
            .captures(&list)
            .unwrap()[1]
            .parse()
            .unwrap()
    };

    // The file page: the receipt first, all three proofs, Verify in the menu.
    let mut page = String::new();
    for _ in 0..50 {
        page = browser
            .get(&format!("/files/{id}"))
            .await
            .text()
            .await
            .unwrap();
        if page.contains("Transparency log entry 0 of") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        page.contains("Transparency log entry 0 of") && page.contains("checkpoint of 1 entries"),
        "{page}"
    );
    let receipt = page.find("Download receipt").expect("a receipt button");
    assert!(
        receipt < page.find("RFC 3161 time-stamp token").unwrap(),
        "the receipt comes first"
    );
    assert!(page.contains("What is a receipt?"));
    assert!(
        page.contains(r#"<a href="/verify""#),
        "Verify stays in the menu after sign-in"
    );
    assert!(
        !page.contains(&format!(r#"action="/files/{id}/delete""#)),
        "no one-click delete"
    );
    assert!(page.contains(&format!(r#"href="/files/{id}/delete""#)));
    let confirm = browser.get(&format!("/files/{id}/delete")).await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirm = confirm.text().await.unwrap();
    assert!(
        confirm.contains("Delete “minutes.txt”?") && confirm.contains("transparency log"),
        "{confirm}"
    );
    assert!(confirm.contains(&format!(r#"action="/files/{id}/delete""#)));
    assert_eq!(db.count("files").await, 1, "asking deletes nothing");
    let deleted = browser
        .post_form(
            &format!("/files/{id}/delete"),
            &[("csrf_token", &csrf_in(&confirm))],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(db.count("files").await, 0);
    assert_eq!(
        browser.get("/files/999999/delete").await.status(),
        StatusCode::NOT_FOUND
    );

    let tokens = browser.get("/settings/tokens").await.text().await.unwrap();
    browser
        .post_form(
            "/settings/tokens",
            &[("name", "nightly"), ("csrf_token", &csrf_in(&tokens))],
        )
        .await;
    let tokens = browser.get("/settings/tokens").await.text().await.unwrap();
    let token_id = regex_lite::Regex::new(r#"href="/settings/tokens/(\d+)/revoke""#)
        .unwrap()
        .captures(&tokens)
        .unwrap()[1]
        .to_owned();
    assert!(
        !tokens.contains(r#"method="post" action="/settings/tokens/"#),
        "no one-click revoke"
    );
    let confirm = browser
        .get(&format!("/settings/tokens/{token_id}/revoke"))
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("Revoke the token “nightly”?"), "{confirm}");
    assert_eq!(db.count("api_tokens").await, 1, "asking revokes nothing");
    let revoked = browser
        .post_form(
            &format!("/settings/tokens/{token_id}/revoke"),
            &[("csrf_token", &csrf_in(&confirm))],
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(db.count("api_tokens").await, 0);
}

on_every_database! {
    async fn small_contents_are_kept_in_the_database_and_served_like_any_other(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("ines").await;
        let small: Vec<u8> = (0..9000).flat_map(|i| format!("line {i:05}\n").into_bytes()).collect();
        let other = b"another small content\n".to_vec();
        let uploaded = script.upload(&csrf, &[("a.txt", &small), ("b.txt", &small), ("c.txt", &other)]).await;
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        let body: Value = uploaded.json().await.unwrap();
        let ids: Vec<i64> = body["files"].as_array().unwrap().iter().map(|f| f["id"].as_i64().unwrap()).collect();
        assert!(app.stored_files("objects").is_empty() && app.stored_files("staging").is_empty());
        assert_eq!(db.count_where("blobs", "content IS NOT NULL").await, 2, "each content once");

        let download = |id: i64| script.url(&format!("/files/{id}/download"));
        let whole = script.get(&format!("/files/{}/download", ids[0])).await;
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.headers()["etag"], format!("\"{}\"", sha256(&small)).as_str());
        assert!(whole.bytes().await.unwrap() == small);
        let ranged = script.http.get(download(ids[1])).header("range", "bytes=11-21").send().await.unwrap();
        assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(ranged.headers()["content-range"], format!("bytes 11-21/{}", small.len()).as_str());
        assert_eq!(ranged.bytes().await.unwrap(), small[11..22]);
        let tail = script.http.get(download(ids[1])).header("range", "bytes=-5").send().await.unwrap();
        assert_eq!(tail.bytes().await.unwrap(), small[small.len() - 5..]);
        let beyond = script.http.get(download(ids[1])).header("range", format!("bytes={}-", small.len())).send().await.unwrap();
        assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(beyond.headers()["content-range"], format!("bytes */{}", small.len()).as_str());
        let head = script.http.head(download(ids[2])).send().await.unwrap();
        assert_eq!(head.headers()["content-length"], other.len().to_string().as_str());
        assert!(head.bytes().await.unwrap().is_empty());

        // The content goes with the last file that uses it.
        let delete = |id: i64| script.http.delete(script.url(&format!("/files/{id}"))).header("x-csrf-token", &csrf).send();
        assert_eq!(delete(ids[0]).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(db.count("blobs").await, 2);
        assert!(script.get(&format!("/files/{}/download", ids[1])).await.bytes().await.unwrap() == small);
        assert_eq!(delete(ids[1]).await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(db.count("blobs").await, 1);

        // A row whose clean-up was cut short, its bytes gone: the next upload
        // of that content gives them back.
        let hash = sha256(&small);
        db.execute(&format!("INSERT INTO blobs (sha256, size, refcount) VALUES ('{hash}', {}, 0)", small.len())).await;
        let again: Value = script.upload(&csrf, &[("d.txt", &small)]).await.json().await.unwrap();
        let id = again["files"][0]["id"].as_i64().unwrap();
        assert!(script.get(&format!("/files/{id}/download")).await.bytes().await.unwrap() == small);
    }
}

on_every_database! {
    async fn uploads_of_the_same_small_contents_at_once_store_each_whole_and_once(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("jonas").await;
        let contents: Vec<Vec<u8>> = (0..20).map(|n| format!("shared content {n}\n").repeat(200 + n).into_bytes()).collect();
        let stored: Value = script.upload(&csrf, &[("first.txt", &contents[7])]).await.json().await.unwrap();
        let first = stored["files"][0]["id"].as_i64().unwrap();
        // Four requests write the same rows ahead at once, in different
        // orders, while a fifth frees one of them by deleting its only file.
        let names: Vec<String> = (0..contents.len()).map(|n| format!("f{n}.txt")).collect();
        let batches: Vec<Vec<(&str, &[u8])>> = [0, 5, 10, 15]
            .into_iter()
            .map(|start| {
                (0..contents.len())
                    .map(|n| (n + start) % contents.len())
                    .map(|n| (names[n].as_str(), contents[n].as_slice()))
                    .collect()
            })
            .collect();
        let (a, b, c, d, deleted) = tokio::join!(
            script.upload(&csrf, &batches[0]),
            script.upload(&csrf, &batches[1]),
            script.upload(&csrf, &batches[2]),
            script.upload(&csrf, &batches[3]),
            script.http.delete(script.url(&format!("/files/{first}"))).header("x-csrf-token", &csrf).send(),
        );
        assert_eq!(deleted.unwrap().status(), StatusCode::NO_CONTENT);
        for answer in [a, b, c, d] {
            assert_eq!(answer.status(), StatusCode::CREATED);
            let body: Value = answer.json().await.unwrap();
            for file in body["files"].as_array().unwrap() {
                let n: usize = file["original_filename"].as_str().unwrap()[1..].trim_end_matches(".txt").parse().unwrap();
                let id = file["id"].as_i64().unwrap();
                let bytes = script.get(&format!("/files/{id}/download")).await.bytes().await.unwrap();
                assert!(bytes == contents[n], "file {n} comes back whole");
            }
        }
        assert_eq!(db.count("files").await, 80);
        assert_eq!(db.count_where("blobs", "refcount = 4 AND content IS NOT NULL").await, 20, "each content once, counted four times");
        assert_eq!(db.count("blobs").await, 20, "nothing left over");
    }
}

//! Every upload's proofs, judged by the standard tools (`openssl ts`, `gpg`)
//! and by `securestamp verify`.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, Client, Database, TestApp, on_every_database};

fn tool(dir: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> (bool, String) {
    let mut command = Command::new(program);
    command.current_dir(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.success() && !text.contains("Verification: FAILED"),
        text,
    )
}

async fn save(client: &Client, path: &str, to: &Path) {
    let response = client.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    std::fs::write(to, response.bytes().await.unwrap()).unwrap();
}

/// Uploads `report.pdf` and saves it with its three proof files into `dir`.
async fn upload_with_proofs(app: &TestApp, dir: &Path) -> Value {
    // Other stamps first, so that the upload's inclusion proof is not empty.
    let log = crate::log::Log::new(app.url(""));
    for _ in 0..3 {
        log.stamp().await;
    }
    let (script, csrf) = app.signed_in_script("proof").await;
    let content = b"%PDF-1.7\n the quarterly report \n%%EOF\n";
    std::fs::write(dir.join("report.pdf"), content).unwrap();
    let stored: Value = script
        .upload(&csrf, &[("report.pdf", content)])
        .await
        .json()
        .await
        .unwrap();
    let file = stored["files"][0].clone();
    for (link, name) in [
        ("timestamp", "report.tsr"),
        ("signature", "report.pdf.asc"),
        ("receipt", "report.receipt"),
    ] {
        save(
            &script,
            file["links"][link].as_str().unwrap(),
            &dir.join(name),
        )
        .await;
    }
    save(&script, "/keys/tsa-chain.pem", &dir.join("tsa-chain.pem")).await;
    save(&script, "/keys/openpgp.asc", &dir.join("server.asc")).await;
    save(&script, "/keys/log.vkey", &dir.join("log.vkey")).await;
    file
}

on_every_database! {
    async fn uploads_carry_a_token_openssl_accepts_and_a_signature_gpg_accepts(db) {
        let app = db.spawn().await;
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let file = upload_with_proofs(&app, dir).await;

        let (ok, text) = tool(dir, "openssl", &["ts", "-verify", "-data", "report.pdf", "-in", "report.tsr", "-CAfile", "tsa-chain.pem"], &[]);
        assert!(ok, "{text}");
        let (_, text) = tool(dir, "openssl", &["ts", "-reply", "-in", "report.tsr", "-text"], &[]);
        let uploaded_at = chrono::DateTime::parse_from_rfc3339(file["uploaded_at"].as_str().unwrap()).unwrap();
        let stated = uploaded_at.format("Time stamp: %b %e %H:%M:%S %Y GMT").to_string();
        assert!(text.contains(&stated), "the token's genTime is uploaded_at ({stated}): {text}");

        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let gpg = |args: &[&str]| tool(dir, "gpg", &[&["--batch", "--no-tty"][..], args].concat(), &[("GNUPGHOME", home.path())]);
        assert!(gpg(&["--import", "server.asc"]).0);
        let (ok, text) = gpg(&["--verify", "report.pdf.asc", "report.pdf"]);
        assert!(ok && text.contains("Good signature"), "{text}");
        assert!(text.contains("SecureStamp <securestamp@localhost>"), "{text}");
    }
}

/// The options that pin every key to the server's published ones, as saved
/// by [`upload_with_proofs`].
const PINNED: [&str; 6] = [
    "--tsa-chain",
    "tsa-chain.pem",
    "--openpgp-key",
    "server.asc",
    "--log-key",
    "log.vkey",
];

fn verify_cli(dir: &Path, extra: &[&str]) -> (bool, String) {
    tool(
        dir,
        env!("CARGO_BIN_EXE_securestamp"),
        &[&["verify", "report.pdf", "report.receipt"][..], extra].concat(),
        &[],
    )
}

/// With `KEY_PASSPHRASE_FILE`, the server signs with keys it keeps encrypted,
/// in forms OpenSSL opens with the passphrase and only with it: the TSA key is
/// the one its certificate names, the log key the one its verifier key names.
/// Every proof verifies against the published keys as before.
#[tokio::test]
async fn keys_kept_encrypted_open_in_openssl_with_the_passphrase_and_sign_as_before() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let secrets = tempfile::tempdir().unwrap();
    let passphrase = secrets.path().join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").unwrap();
    let app = db
        .spawn_with(&[("KEY_PASSPHRASE_FILE", passphrase.to_str().unwrap())])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    upload_with_proofs(&app, dir).await;
    let (ok, text) = verify_cli(dir, &PINNED);
    assert!(ok, "{text}");

    let keys = db.data_dir().join("keys");
    let tsa_key = keys.join("tsa/key.pem");
    let log_key = keys.join("log/key");
    for key in [&tsa_key, &log_key] {
        let text = std::fs::read_to_string(key).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{}",
            key.display()
        );
    }
    let secret = std::fs::read_to_string(keys.join("openpgp/secret.asc")).unwrap();
    assert!(secret.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));

    let pass = format!("file:{}", passphrase.display());
    let public_of = |key: &Path, passin: &str, form: &str| {
        let output = Command::new("openssl")
            .args([
                "pkey", "-pubout", "-outform", form, "-passin", passin, "-in",
            ])
            .arg(key)
            .output()
            .expect("openssl must be installed");
        (output.status.success(), output.stdout)
    };
    let (opened, tsa_public) = public_of(&tsa_key, &pass, "PEM");
    assert!(opened);
    let certified = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(dir.join("tsa-chain.pem"))
        .output()
        .unwrap();
    assert_eq!(tsa_public, certified.stdout, "the TSA certificate's key");
    assert!(!public_of(&tsa_key, "pass:wrong horse", "PEM").0);

    let (opened, log_public) = public_of(&log_key, &pass, "DER");
    assert!(opened);
    let vkey = std::fs::read_to_string(dir.join("log.vkey")).unwrap();
    let published = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        // name+hash+key: the key's base64 may itself hold a '+'.
        vkey.trim().splitn(3, '+').nth(2).unwrap(),
    )
    .unwrap();
    assert_eq!(
        log_public[log_public.len() - 32..],
        published[1..],
        "the log's verifier key"
    );
    assert!(!public_of(&log_key, "pass:wrong horse", "DER").0);
}

#[tokio::test]
async fn securestamp_verify_accepts_the_genuine_file_and_nothing_else() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db.spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    upload_with_proofs(&app, dir).await;

    let (ok, text) = verify_cli(dir, &[]);
    assert!(ok, "{text}");
    assert_eq!(
        text.lines().filter(|line| line.starts_with("OK")).count(),
        4,
        "{text}"
    );
    assert!(
        text.contains("warning: without --tsa-chain, --openpgp-key, --log-key the keys inside the receipt were trusted"),
        "{text}"
    );
    let (ok, text) = verify_cli(
        dir,
        &[
            "--tsa-chain",
            "tsa-chain.pem",
            "--openpgp-key",
            "server.asc",
        ],
    );
    assert!(ok && !text.contains("keys from the receipt"), "{text}");
    assert!(text.contains("warning: without --log-key "), "{text}");
    let (ok, text) = verify_cli(dir, &PINNED);
    assert!(ok && !text.contains("warning"), "{text}");
    // The keys the server publishes, fetched by the command itself.
    let (server, at) = (app.url(""), dir.to_owned());
    let (ok, text) = tokio::task::spawn_blocking(move || verify_cli(&at, &["--server", &server]))
        .await
        .unwrap();
    assert!(
        ok && !text.contains("warning") && !text.contains("from the receipt"),
        "{text}"
    );

    // A tampered file.
    let original = std::fs::read(dir.join("report.pdf")).unwrap();
    let mut tampered = original.clone();
    tampered[12] ^= 1;
    std::fs::write(dir.join("report.pdf"), &tampered).unwrap();
    let (ok, text) = verify_cli(dir, &[]);
    assert!(!ok && text.matches("FAILED").count() == 3, "{text}");
    std::fs::write(dir.join("report.pdf"), &original).unwrap();

    // A tampered receipt: its signature, then its token.
    let receipt: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.receipt")).unwrap()).unwrap();
    let write_receipt = |receipt: &Value| {
        std::fs::write(
            dir.join("report.receipt"),
            serde_json::to_vec(receipt).unwrap(),
        )
        .unwrap()
    };
    let mut bad_signature = receipt.clone();
    // Flip one base64 character in the middle of the armored signature's body.
    let armored = receipt["openpgp"]["signature"].as_str().unwrap().to_owned();
    let body_start = armored.find("\n\n").unwrap() + 2;
    let mut flipped = armored.into_bytes();
    let at = body_start + 20;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    bad_signature["openpgp"]["signature"] = Value::from(String::from_utf8(flipped).unwrap());
    write_receipt(&bad_signature);
    let (ok, text) = verify_cli(dir, &[]);
    assert!(!ok && text.contains("FAILED  OpenPGP signature"), "{text}");

    let mut bad_token = receipt.clone();
    let mut reply = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        receipt["rfc3161"]["reply"].as_str().unwrap(),
    )
    .unwrap();
    let last = reply.len() - 5;
    reply[last] ^= 0x40;
    bad_token["rfc3161"]["reply"] = Value::from(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        &reply,
    ));
    write_receipt(&bad_token);
    let (ok, text) = verify_cli(dir, &[]);
    assert!(
        !ok && text.contains("FAILED  RFC 3161 time-stamp"),
        "{text}"
    );
    write_receipt(&receipt);

    // The log's proof: a changed hash, a checkpoint signed by no one, an entry for another token.
    let log_proof = receipt["log"]["proof"].as_str().unwrap().to_owned();
    assert!(
        log_proof.starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"),
        "{log_proof}"
    );
    let first_hash = log_proof.lines().nth(2).unwrap().to_owned();
    let mut changed =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &first_hash).unwrap();
    changed[0] ^= 1;
    let changed = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &changed);
    let signature_line = log_proof.lines().last().unwrap().to_owned();
    let forged_signature = format!(
        "{}AAAA{}",
        &signature_line[..signature_line.len() - 8],
        &signature_line[signature_line.len() - 4..]
    );
    for (tampered, expected) in [
        (
            log_proof.replacen(&first_hash, &changed, 1),
            "the inclusion proof",
        ),
        (
            log_proof.replacen("index 3", "index 2", 1),
            "the inclusion proof",
        ),
        (
            log_proof.replacen(&signature_line, &forged_signature, 1),
            "the checkpoint",
        ),
    ] {
        let mut bad_log = receipt.clone();
        bad_log["log"]["proof"] = Value::from(tampered);
        write_receipt(&bad_log);
        let (ok, text) = verify_cli(dir, &[]);
        assert!(
            !ok && text.contains("FAILED  transparency log") && text.contains(expected),
            "{text}"
        );
    }
    let mut bad_entry = receipt.clone();
    let entry = receipt["log"]["entry"]
        .as_str()
        .unwrap()
        .replace("time 20", "time 19");
    bad_entry["log"]["entry"] = Value::from(entry);
    write_receipt(&bad_entry);
    let (ok, text) = verify_cli(dir, &[]);
    assert!(
        !ok && text.contains("does not describe this receipt's token"),
        "{text}"
    );
    write_receipt(&receipt);
    let (ok, text) = verify_cli(dir, &["--log-key", "log.vkey"]);
    assert!(ok && !text.contains("key from the receipt"), "{text}");

    // Keys of another server.
    let other_db = Database::create(Backend::Sqlite).await.unwrap();
    let other = other_db.spawn().await;
    let elsewhere = tempfile::tempdir().unwrap();
    save(
        &other.script(),
        "/keys/tsa-chain.pem",
        &elsewhere.path().join("chain.pem"),
    )
    .await;
    save(
        &other.script(),
        "/keys/openpgp.asc",
        &elsewhere.path().join("key.asc"),
    )
    .await;
    let foreign_chain = elsewhere.path().join("chain.pem");
    let foreign_key = elsewhere.path().join("key.asc");
    let (ok, text) = verify_cli(dir, &["--tsa-chain", foreign_chain.to_str().unwrap()]);
    assert!(
        !ok && text.contains("FAILED  RFC 3161 time-stamp"),
        "{text}"
    );
    let (ok, text) = verify_cli(dir, &["--openpgp-key", foreign_key.to_str().unwrap()]);
    assert!(!ok && text.contains("FAILED  OpenPGP signature"), "{text}");
    save(
        &other.script(),
        "/keys/log.vkey",
        &elsewhere.path().join("log.vkey"),
    )
    .await;
    let foreign_log = elsewhere.path().join("log.vkey");
    let (ok, text) = verify_cli(dir, &["--log-key", foreign_log.to_str().unwrap()]);
    assert!(
        !ok && text.contains("FAILED  transparency log") && text.contains("the checkpoint"),
        "{text}"
    );
    let (ok, _) = verify_cli(dir, &[]);
    assert!(ok, "the untouched receipt still verifies");
}

#[tokio::test]
async fn the_verify_page_checks_a_file_and_its_receipt_without_an_account() {
    let db = Database::create(Backend::Sqlite).await.unwrap();
    let app = db.spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    upload_with_proofs(&app, dir).await;
    let receipt = std::fs::read(dir.join("report.receipt")).unwrap();
    let content = std::fs::read(dir.join("report.pdf")).unwrap();
    let form = |receipt: &[u8], content: &[u8], receipt_first: bool| {
        let receipt = reqwest::multipart::Part::bytes(receipt.to_vec()).file_name("report.receipt");
        let file = reqwest::multipart::Part::bytes(content.to_vec()).file_name("report.pdf");
        let form = reqwest::multipart::Form::new();
        if receipt_first {
            form.part("receipt", receipt).part("file", file)
        } else {
            form.part("file", file).part("receipt", receipt)
        }
    };
    let browser = app.browser();
    assert_eq!(browser.get("/verify").await.status(), StatusCode::OK);
    let page = post_verify(&browser, form(&receipt, &content, true)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Every proof holds") && html.matches("OK:").count() == 4,
        "{html}"
    );
    assert!(
        html.contains("This file existed, unchanged, on ")
            && html.contains("checked against three independent proofs."),
        "one plain sentence first: {html}"
    );

    let mut tampered = content.clone();
    tampered[3] ^= 1;
    let html = post_verify(&browser, form(&receipt, &tampered, true))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Not every proof holds") && html.contains("Failed: SHA-256"),
        "{html}"
    );
    assert!(
        html.contains("This is not the file this receipt covers."),
        "{html}"
    );
    // The OpenPGP verdict is in our words, not the library's.
    assert!(
        html.contains("the signature does not match the data</span>"),
        "{html}"
    );
    for internal in ["assertion", "left == right", "panicked"] {
        assert!(!html.contains(internal), "{internal} in {html}");
    }

    let script = app.script();
    let verdict: Value = post_verify(&script, form(&receipt, &content, true))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["all_hold"], true);
    assert_eq!(verdict["checks"].as_array().unwrap().len(), 4);
    let misordered = post_verify(&script, form(&receipt, &content, false)).await;
    assert_eq!(misordered.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let not_a_receipt = post_verify(&script, form(b"{}", &content, true)).await;
    assert_eq!(not_a_receipt.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Only the hash: the time-stamp and the log are checked, the signature reported as not checked.
    let by_hash = |sha256: &str| {
        let receipt = reqwest::multipart::Part::bytes(receipt.clone()).file_name("report.receipt");
        reqwest::multipart::Form::new()
            .part("receipt", receipt)
            .text("sha256", sha256.to_owned())
    };
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&content));
    let verdict: Value = post_verify(&script, by_hash(&digest))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["all_hold"], true, "{verdict}");
    assert_eq!(verdict["checks"].as_array().unwrap().len(), 3);
    assert_eq!(verdict["checks"][2]["proof"], "transparency log");
    assert_eq!(verdict["not_checked"][0]["proof"], "OpenPGP signature");
    let other = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"something else"));
    let verdict: Value = post_verify(&script, by_hash(&other))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["all_hold"], false);
    let malformed = post_verify(&script, by_hash("xyz")).await;
    assert_eq!(malformed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = post_verify(&browser, by_hash(&digest))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Every proof checked holds")
            && html.contains("Not checked: OpenPGP signature"),
        "{html}"
    );

    assert_eq!(db.count("files").await, 1, "verifying stores nothing");
    assert!(app.stored_files("staging").is_empty());
}

async fn post_verify(client: &Client, form: reqwest::multipart::Form) -> reqwest::Response {
    client
        .http
        .post(client.url("/verify"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A receipt made by another SecureStamp, with keys of its own, is never
/// shown as this server's proof: `/verify` says it names other keys and its
/// proofs fail against this server's, while this server's own receipt holds.
#[tokio::test]
async fn the_verify_page_checks_receipts_against_this_servers_keys_only() {
    let here = Database::create(Backend::Sqlite).await.unwrap();
    let elsewhere = Database::create(Backend::Sqlite).await.unwrap();
    let (ours, theirs) = (here.spawn().await, elsewhere.spawn().await);
    let (dir_ours, dir_theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    upload_with_proofs(&ours, dir_ours.path()).await;
    upload_with_proofs(&theirs, dir_theirs.path()).await;

    let client = ours.script();
    for (dir, issued_here) in [(dir_ours.path(), true), (dir_theirs.path(), false)] {
        let form = || {
            reqwest::multipart::Form::new()
                .part(
                    "receipt",
                    reqwest::multipart::Part::bytes(
                        std::fs::read(dir.join("report.receipt")).unwrap(),
                    )
                    .file_name("report.receipt"),
                )
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(std::fs::read(dir.join("report.pdf")).unwrap())
                        .file_name("report.pdf"),
                )
        };
        let answer: Value = post_verify(&client, form()).await.json().await.unwrap();
        assert_eq!(answer["issued_by_this_server"], issued_here, "{answer}");
        assert_eq!(answer["all_hold"], issued_here, "{answer}");
        if !issued_here {
            let failed: Vec<&str> = answer["checks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|check| check["holds"] == false)
                .map(|check| check["proof"].as_str().unwrap())
                .collect();
            assert!(
                failed.len() >= 3,
                "the token, the signature and the log entry: {answer}"
            );
        }
        let page = post_verify(&ours.browser(), form())
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(
            page.contains("Not made by this server"),
            !issued_here,
            "{page}"
        );
    }
}

//! The operator's side: `REGISTRATION` and `securestamp user …` on the
//! database a running server uses.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Client, Database, SECRET, on_every_database};

/// `securestamp user ARGS` against the test's database: its standard output.
fn user_command(db: &Database, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let uploads = dir.path().join("uploads").display().to_string();
    let vars = [
        ("DATABASE_URL", db.url.as_str()),
        ("SECRET_KEY", SECRET),
        ("DATA_DIR", data.as_str()),
        ("UPLOAD_FOLDER", uploads.as_str()),
        ("PUBLIC_URL", "https://vault.example"),
    ];
    let all: Vec<&str> = [&["user"][..], args].concat();
    let output = crate::startup::securestamp(dir.path(), &all, &vars);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "user {args:?}: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

async fn register(client: &Client, name: &str, invite: Option<&str>) -> reqwest::Response {
    let csrf = client.csrf("/auth/register").await;
    let mut body = json!({"username": name, "email": format!("{name}@example.com"), "password": "long enough"});
    if let Some(invite) = invite {
        body["invite"] = json!(invite);
    }
    client.post_json("/auth/register", &csrf, body).await
}

on_every_database! {
    async fn registration_by_invitation_takes_each_invite_once(db) {
        let app = db.spawn_with(&[("REGISTRATION", "invite")]).await;
        let script = app.script();
        let refused = register(&script, "fay", None).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(register(&script, "fay", Some("made-up")).await.status(), StatusCode::FORBIDDEN);

        let invite = || {
            let said = user_command(&db, &["invite", "--days", "2"]);
            let link = said
                .lines()
                .find(|l| l.starts_with("https://vault.example/auth/register?invite="))
                .unwrap_or_else(|| panic!("{said}"))
                .to_owned();
            link.rsplit('=').next().unwrap().to_owned()
        };
        let (first, second) = (invite(), invite());
        let made = register(&script, "fay", Some(&first)).await;
        assert_eq!(made.status(), StatusCode::CREATED);
        assert_eq!(register(&script, "gus", Some(&first)).await.status(), StatusCode::FORBIDDEN, "used");
        // A name taken gives the invite back.
        assert_eq!(register(&script, "fay", Some(&second)).await.status(), StatusCode::CONFLICT);
        assert_eq!(register(&script, "gus", Some(&second)).await.status(), StatusCode::CREATED);
        let code = invite();
        // The form asks for the code, and fills it in from the link.
        let page = app.browser().get(&format!("/auth/register?invite={code}")).await.text().await.unwrap();
        assert!(page.contains(r#"name="invite""#) && page.contains(&code), "{page}");
    }
}

#[tokio::test]
async fn closed_registration_refuses_everyone_and_says_so() {
    let db = Database::create(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let app = db.spawn_with(&[("REGISTRATION", "closed")]).await;
    let refused = register(&app.script(), "hal", None).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = app
        .browser()
        .get("/auth/register")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("not taking new accounts") && !page.contains(r#"name="password""#),
        "{page}"
    );
}

on_every_database! {
    async fn the_operator_disables_enables_and_resets_accounts(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("iris").await;
        let token: Value = script.post_json("/settings/tokens", &csrf, json!({"name": "cron"})).await.json().await.unwrap();
        let token = token["token"].as_str().unwrap().to_owned();
        let with_token = |path: &str| {
            crate::helpers::http_client().get(app.url(path)).bearer_auth(&token).header("accept", "application/json").send()
        };
        assert_eq!(with_token("/files").await.unwrap().status(), StatusCode::OK);

        let listed = user_command(&db, &["list"]);
        assert!(listed.lines().any(|l| l.contains("\tiris\tiris@example.com\t") && l.ends_with("\toff\tno")), "{listed}");

        user_command(&db, &["disable", "iris@example.com"]);
        assert_eq!(script.get("/files").await.status(), StatusCode::UNAUTHORIZED, "the session ended");
        assert_eq!(with_token("/files").await.unwrap().status(), StatusCode::UNAUTHORIZED, "the token stopped");
        let again = Client::at(app.url(""), true);
        let login_csrf = again.csrf("/auth/login").await;
        let refused = again.post_json("/auth/login", &login_csrf, json!({"username": "iris", "password": "long enough"})).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(user_command(&db, &["list"]).lines().any(|l| l.contains("\tiris\t") && !l.ends_with("\tno")));

        user_command(&db, &["enable", "iris"]);
        assert_eq!(with_token("/files").await.unwrap().status(), StatusCode::OK);
        let said = user_command(&db, &["reset-password", "iris"]);
        let password = said.lines().next().unwrap().rsplit(' ').next().unwrap().to_owned();
        assert_eq!(password.len(), 20, "{said}");
        let refused = again.post_json("/auth/login", &login_csrf, json!({"username": "iris", "password": "long enough"})).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "the old password is gone");
        let csrf = again.json_sign_in("iris", &password).await;

        // A lost phone: the operator turns two-factor sign-in off.
        let setup: Value = again.post_json("/settings/two-factor/setup", &csrf, json!({})).await.json().await.unwrap();
        let code = crate::helpers::totp_code(setup["secret"].as_str().unwrap(), crate::helpers::unix_now());
        assert_eq!(again.post_json("/settings/two-factor/confirm", &csrf, json!({"code": code})).await.status(), StatusCode::OK);
        assert!(user_command(&db, &["list"]).lines().any(|l| l.contains("\tiris\t") && l.contains("\ton\t")));
        user_command(&db, &["reset-2fa", "iris"]);
        Client::at(app.url(""), true).json_sign_in("iris", &password).await;
    }
}

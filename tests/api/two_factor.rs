//! Two-factor sign-in: setting up an authenticator, the second step of a
//! sign-in (JSON and HTML forms without JavaScript), codes taken once,
//! recovery codes, turning it off.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Client, csrf_in, location, on_every_database};

use crate::helpers::{totp_code as code_at, unix_now as now};

/// Six digits that are none of the codes the server would accept now.
fn wrong_code(secret: &str) -> String {
    let t = now();
    let valid: Vec<String> = [t - 60, t - 30, t, t + 30, t + 60]
        .iter()
        .map(|time| code_at(secret, *time))
        .collect();
    (0..)
        .map(|n| format!("{n:06}"))
        .find(|c| !valid.contains(c))
        .unwrap()
}

/// Sets up and confirms an authenticator through the JSON API; answers its
/// secret and the recovery codes.
async fn turn_on(script: &Client, csrf: &str) -> (String, Vec<String>) {
    let setup = script
        .post_json("/settings/two-factor/setup", csrf, serde_json::json!({}))
        .await;
    assert_eq!(setup.status(), StatusCode::CREATED);
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(
        setup["otpauth_url"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/SecureStamp:")
    );
    assert!(setup["qr_svg"].as_str().unwrap().contains("<svg"));
    let state: Value = script
        .get("/settings/two-factor")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "setting_up");
    assert_eq!(
        state["enrolment"]["secret"],
        secret.as_str(),
        "the same secret is shown again"
    );

    let refused = script
        .post_json(
            "/settings/two-factor/confirm",
            csrf,
            serde_json::json!({"code": wrong_code(&secret)}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = script
        .post_json(
            "/settings/two-factor/confirm",
            csrf,
            serde_json::json!({"code": code_at(&secret, now())}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    let codes: Vec<String> = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    let state: Value = script
        .get("/settings/two-factor")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(state["status"], "on");
    assert_eq!(state["recovery_codes_left"], 10);
    (secret, codes)
}

/// The password step of a JSON sign-in: its ticket.
async fn password_step(app_url: &str, name: &str) -> (Client, String, String) {
    let client = Client::at(app_url.to_owned(), true);
    let csrf = client.csrf("/auth/login").await;
    let answer = client
        .post_json(
            "/auth/login",
            &csrf,
            serde_json::json!({"username": name, "password": "long enough"}),
        )
        .await;
    assert_eq!(
        answer.status(),
        StatusCode::ACCEPTED,
        "the password is not enough"
    );
    assert!(
        crate::helpers::set_cookies(&answer)
            .iter()
            .all(|c| !c.contains("session")),
        "no session yet"
    );
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true);
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    (client, csrf, ticket)
}

async fn code_step(client: &Client, csrf: &str, ticket: &str, code: &str) -> reqwest::Response {
    client
        .post_json(
            "/auth/login/second-factor",
            csrf,
            serde_json::json!({"ticket": ticket, "code": code}),
        )
        .await
}

on_every_database! {
    async fn a_code_finishes_the_sign_in_once_and_recovery_codes_work_once(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("tove").await;
        let (secret, recovery) = turn_on(&script, &csrf).await;
        let base = app.url("");

        // The password alone opens nothing; a wrong code is refused.
        let (client, client_csrf, ticket) = password_step(&base, "tove").await;
        assert_eq!(client.get("/files").await.status(), StatusCode::UNAUTHORIZED);
        let refused = code_step(&client, &client_csrf, &ticket, &wrong_code(&secret)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], "invalid_code");
        // The next step's code (within the clock skew allowed) signs in.
        let next_code = code_at(&secret, now() + 30);
        let signed_in = code_step(&client, &client_csrf, &ticket, &next_code).await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        let signed_in: Value = signed_in.json().await.unwrap();
        assert_eq!(signed_in["user"]["username"], "tove");
        assert_eq!(client.get("/files").await.status(), StatusCode::OK);

        // That code, or an older one, is taken: a second sign-in cannot use it.
        let (other, other_csrf, ticket) = password_step(&base, "tove").await;
        for used in [next_code.clone(), code_at(&secret, now())] {
            let replayed = code_step(&other, &other_csrf, &ticket, &used).await;
            assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED, "code {used} again");
        }
        // A recovery code works, however it is typed, but once.
        let typed = recovery[0].to_uppercase().replace('-', " ");
        assert_eq!(code_step(&other, &other_csrf, &ticket, &typed).await.status(), StatusCode::OK);
        let (third, third_csrf, ticket) = password_step(&base, "tove").await;
        assert_eq!(code_step(&third, &third_csrf, &ticket, &recovery[0]).await.status(), StatusCode::UNAUTHORIZED);
        let state: Value = script.get("/settings/two-factor").await.json().await.unwrap();
        assert_eq!(state["recovery_codes_left"], 9);

        // A ticket is this server's, whole and recent.
        let forged = format!("{ticket}x");
        assert_eq!(code_step(&third, &third_csrf, &forged, &recovery[1]).await.status(), StatusCode::UNAUTHORIZED);

        // Turning it off needs the password and a code.
        let wrong_password = script
            .post_json("/settings/two-factor/disable", &csrf, serde_json::json!({"password": "not the one", "code": recovery[1]}))
            .await;
        assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
        let wrong = script
            .post_json("/settings/two-factor/disable", &csrf, serde_json::json!({"password": "long enough", "code": wrong_code(&secret)}))
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["code"], "invalid_code");
        let turned_off = script
            .post_json("/settings/two-factor/disable", &csrf, serde_json::json!({"password": "long enough", "code": recovery[1]}))
            .await;
        assert_eq!(turned_off.status(), StatusCode::OK);
        assert_eq!(turned_off.json::<Value>().await.unwrap()["status"], "off");
        assert_eq!(db.count("recovery_codes").await, 0);
        let plain = Client::at(base, true);
        plain.json_sign_in("tove", "long enough").await;
    }
}

on_every_database! {
    async fn two_factor_is_set_up_and_used_with_forms_alone(db) {
        let app = db.spawn().await;
        let browser = app.browser();
        browser.register("ulla", "ulla@example.com", "long enough").await;
        assert_eq!(browser.sign_in("ulla", "long enough").await.status(), StatusCode::SEE_OTHER);

        let page = browser.get("/settings/two-factor").await.text().await.unwrap();
        assert!(page.contains("Set up two-factor sign-in"), "{page}");
        let set_up = browser.post_form("/settings/two-factor/setup", &[("csrf_token", &csrf_in(&page))]).await;
        assert_eq!(set_up.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&set_up), "/settings/two-factor");
        let page = browser.get("/settings/two-factor").await.text().await.unwrap();
        assert!(page.contains("<svg"), "the QR code is drawn in the page");
        let secret = regex_lite::Regex::new(r#"<code class="secret">([A-Z2-7]+)</code>"#)
            .unwrap()
            .captures(&page)
            .expect("the key in the page")[1]
            .to_owned();
        let confirmed = browser
            .post_form("/settings/two-factor/confirm", &[("csrf_token", &csrf_in(&page)), ("code", &code_at(&secret, now()))])
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK);
        let page = confirmed.text().await.unwrap();
        assert!(page.contains("Your recovery codes"), "{page}");
        let codes: Vec<String> = regex_lite::Regex::new(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code></li>")
            .unwrap()
            .captures_iter(&page)
            .map(|c| c[1].to_owned())
            .collect();
        assert_eq!(codes.len(), 10);

        // Signing in again: the password, then a page that asks for the code.
        let other = app.browser();
        let asked = other.sign_in("ulla", "long enough").await;
        assert_eq!(asked.status(), StatusCode::OK);
        let page = asked.text().await.unwrap();
        assert!(page.contains("Two-factor sign-in") && page.contains(r#"autocomplete="one-time-code""#), "{page}");
        let ticket = regex_lite::Regex::new(r#"name="ticket" value="([^"]+)""#).unwrap().captures(&page).unwrap()[1].to_owned();
        let refused = other
            .post_form("/auth/login/second-factor", &[("csrf_token", &csrf_in(&page)), ("ticket", &ticket), ("code", &wrong_code(&secret))])
            .await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let page = refused.text().await.unwrap();
        assert!(page.contains("That code is not right"), "{page}");
        let signed_in = other
            .post_form("/auth/login/second-factor", &[("csrf_token", &csrf_in(&page)), ("ticket", &ticket), ("code", &codes[0])])
            .await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&signed_in), "/dashboard");
        assert_eq!(other.get("/dashboard").await.status(), StatusCode::OK);

        // Off again, from the form.
        let page = other.get("/settings/two-factor").await.text().await.unwrap();
        assert!(page.contains("Recovery codes left: <strong>9</strong>"), "{page}");
        let off = other
            .post_form("/settings/two-factor/disable", &[("csrf_token", &csrf_in(&page)), ("password", "long enough"), ("code", &codes[1])])
            .await;
        assert_eq!(off.status(), StatusCode::SEE_OTHER);
        let page = other.get("/settings/two-factor").await.text().await.unwrap();
        assert!(page.contains("Set up two-factor sign-in"), "{page}");
    }
}

on_every_database! {
    async fn an_api_token_cannot_change_two_factor_sign_in(db) {
        let app = db.spawn().await;
        let (script, csrf) = app.signed_in_script("vera").await;
        let created = script.post_json("/settings/tokens", &csrf, serde_json::json!({"name": "laptop"})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let token = created.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let http = crate::helpers::http_client();
        let asked = http
            .post(app.url("/settings/two-factor/setup"))
            .bearer_auth(&token)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), StatusCode::FORBIDDEN);
        assert_eq!(db.count("totp_credentials").await, 0);
    }
}

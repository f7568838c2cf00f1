//! The sign-in throttle cannot be turned against a victim: strangers'
//! failures lock an account for unknown browsers only, one address cannot
//! try many accounts, and the waits grow; across processes alike.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Client, on_every_database};

/// A JSON client with a cookie jar, coming (through the loopback proxy the
/// server trusts by default) from `address`.
fn from(base: &str, address: &str) -> Client {
    Client::at_with_headers(base.to_owned(), true, &[("x-forwarded-for", address)])
}

async fn sign_in(client: &Client, name: &str, password: &str) -> reqwest::Response {
    let csrf = client.csrf("/auth/login").await;
    client
        .post_json(
            "/auth/login",
            &csrf,
            json!({"username": name, "password": password}),
        )
        .await
}

on_every_database! {
    async fn a_strangers_failures_do_not_lock_out_the_owners_browser_in_any_process(db) {
        crate::helpers::clear_of_window_edges().await;
        let first = db.spawn().await;
        let second = db.spawn().await;
        // The owner signs in once on the first process: the browser is known from then on.
        let owner = from(&first.url(""), "198.51.100.10");
        owner.new_account("oona").await;
        let cookies = crate::helpers::set_cookies(&sign_in(&owner, "oona", "long enough").await);
        assert!(cookies.iter().any(|c| c.starts_with("device=") && c.contains("Max-Age=")), "{cookies:?}");

        // A stranger fails ten times on the second process.
        let stranger = from(&second.url(""), "203.0.113.66");
        for _ in 0..10 {
            assert_eq!(sign_in(&stranger, "oona", "a guess").await.status(), StatusCode::UNAUTHORIZED);
        }
        for base in [first.url(""), second.url("")] {
            let locked = sign_in(&from(&base, "203.0.113.67"), "oona", "long enough").await;
            assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "an unknown browser waits, even with the password");
            let wait: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=900).contains(&wait), "{wait}");
        }
        // The owner's browser, on the other process, is not held up.
        let answer = owner
            .http
            .get(format!("{}/auth/login", second.url("")))
            .send()
            .await
            .unwrap();
        let csrf = answer.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
        let signed_in = owner
            .http
            .post(format!("{}/auth/login", second.url("")))
            .header("x-csrf-token", &csrf)
            .json(&json!({"username": "oona", "password": "long enough"}))
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::OK, "the known browser signs in");

        // A stolen device cookie gives no more guesses than a stranger has.
        for _ in 0..10 {
            assert_eq!(sign_in(&owner, "oona", "wrong").await.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(sign_in(&owner, "oona", "long enough").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}

on_every_database! {
    async fn one_address_cannot_try_many_accounts_and_others_are_not_held_up(db) {
        crate::helpers::clear_of_window_edges().await;
        let app = db.spawn().await;
        let base = app.url("");
        let guesser = from(&base, "203.0.113.99");
        let csrf = guesser.csrf("/auth/login").await;
        for n in 0..50 {
            let guess = guesser.post_json("/auth/login", &csrf, json!({"username": format!("user{n}"), "password": "guess"})).await;
            assert_eq!(guess.status(), StatusCode::UNAUTHORIZED, "guess {n}");
        }
        let refused = guesser.post_json("/auth/login", &csrf, json!({"username": "someone-else", "password": "guess"})).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
        // Another address is not held up.
        let other = from(&base, "198.51.100.20");
        other.new_account("petra").await;
        assert_eq!(sign_in(&other, "petra", "long enough").await.status(), StatusCode::OK);
    }
}

on_every_database! {
    async fn the_wait_grows_to_the_end_of_the_day_after_thirty_failures(db) {
        crate::helpers::clear_of_window_edges().await;
        let app = db.spawn().await;
        let base = app.url("");
        let owner = from(&base, "198.51.100.30");
        owner.new_account("quentin").await;
        let id = owner.get("/settings/account").await.json::<Value>().await.unwrap()["user"]["id"].as_i64().unwrap();
        // Thirty failures today already (as if three lockouts had passed).
        let bucket = hex::encode(Sha256::digest(format!("sign-in-failures-daily\0account:{id}")));
        let now = crate::helpers::unix_now() as i64;
        let day = now - now.rem_euclid(86_400);
        db.execute(&format!("INSERT INTO rate_limits (bucket, window_start, hits) VALUES ('{bucket}', {day}, 30)")).await;
        let stranger = from(&base, "203.0.113.31");
        let locked = sign_in(&stranger, "quentin", "long enough").await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        let to_midnight = day + 86_400 - now;
        assert!((wait - to_midnight).abs() <= 5, "waits until the day ends: {wait} against {to_midnight}");
    }
}

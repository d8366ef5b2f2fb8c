//! What the endpoint answers: the protocol checks (secret header, known client ids) and the
//! scripted answers tests inject.

use std::time::Duration;

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};

use crate::{jwt, status, Mode, Options, Seen};

/// How `expires_on` is written in a token answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresOnForm {
    /// A JSON number, as Azure ML answers.
    Number,
    /// A numeric string, as IMDS and App Service answer.
    NumericString,
    /// The old `MM/DD/YYYY HH:MM:SS +00:00` form.
    Date,
    /// No `expires_on`, only `expires_in`.
    Absent,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A valid token, `expires_on` in the mode's usual form.
    Token,
    /// A valid token with `expires_on` in the given form.
    TokenWith(ExpiresOnForm),
    /// A valid token that expires `seconds` from now (`expires_on` says so too).
    ShortLived(u64),
    /// A token whose JWT `exp` is in the past while `expires_on` claims an hour.
    Expired,
    /// A token for another audience.
    WrongAudience,
    /// An error status with an OAuth-style JSON body.
    Status(u16),
    /// An error status with `Retry-After: seconds`.
    RetryAfter(u16, u64),
    /// `status` for every request during `duration` from the first one (IMDS's 410 at boot).
    StatusFor { status: u16, duration: Duration },
    /// 200 with a body that is not JSON.
    NotJson,
    /// 200 with JSON that has no `access_token`.
    NoAccessToken,
}

/// The protocol's own refusals: a missing or wrong secret, an unknown client id.
pub fn check_protocol(options: &Options, seen: &Seen) -> Option<Response> {
    let (secret_header, id_param) = match options.mode {
        Mode::AzureMl => (Some("secret"), "clientid"),
        Mode::AppService => (Some("x-identity-header"), "client_id"),
        Mode::Imds => (None, "client_id"),
    };
    if let Some(name) = secret_header {
        if seen.header(name) != Some(options.secret.as_str()) {
            return Some(error(
                401,
                "invalid_secret",
                "the secret header is missing or wrong",
            ));
        }
    }
    if options.mode != Mode::AppService && seen.header("metadata") != Some("true") {
        return Some(error(
            400,
            "invalid_request",
            "Required metadata header not specified",
        ));
    }
    if seen.param("resource").is_none() {
        return Some(error(400, "invalid_resource", "no resource parameter"));
    }
    match seen.param(id_param) {
        Some(id) if !options.client_ids.iter().any(|known| known == id) => {
            Some(error(400, "invalid_request", "Identity not found"))
        }
        _ => None,
    }
}

fn error(code: u16, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    (
        status(code),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Builds the answer for one request.
pub async fn respond(options: &Options, seen: &Seen, answer: Answer, now: i64) -> Response {
    let lifetime = options.token_lifetime.as_secs() as i64;
    let usual = match options.mode {
        Mode::AzureMl => ExpiresOnForm::Number,
        Mode::AppService | Mode::Imds => ExpiresOnForm::NumericString,
    };
    let client = seen.param("clientid").or(seen.param("client_id"));
    let audience = "https://storage.azure.com";
    let token = |audience: &str, jwt_lifetime: i64, claimed: i64, form: ExpiresOnForm| {
        let jwt = jwt::mint(&options.tenant, audience, client, now, jwt_lifetime);
        token_body(
            &jwt,
            seen.param("resource").unwrap_or(audience),
            now,
            claimed,
            form,
        )
    };
    match answer {
        Answer::Token => token(audience, lifetime, lifetime, usual),
        Answer::TokenWith(form) => token(audience, lifetime, lifetime, form),
        Answer::ShortLived(seconds) => token(audience, seconds as i64, seconds as i64, usual),
        Answer::Expired => token(audience, -600, lifetime, usual),
        Answer::WrongAudience => token("https://vault.azure.net", lifetime, lifetime, usual),
        Answer::Status(code) | Answer::StatusFor { status: code, .. } => {
            error(code, "scripted_fault", "a fault injected by the test")
        }
        Answer::RetryAfter(code, seconds) => {
            let mut response = error(code, "too_many_requests", "slow down");
            let value = HeaderValue::from_str(&seconds.to_string()).expect("digits are a valid header value");
            response.headers_mut().insert(header::RETRY_AFTER, value);
            response
        }
        Answer::NotJson => (status(200), "<html>not a token</html>").into_response(),
        Answer::NoAccessToken => {
            let body = serde_json::json!({ "expires_on": now + lifetime, "token_type": "Bearer" });
            (
                status(200),
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}

fn token_body(jwt: &str, resource: &str, now: i64, lifetime: i64, form: ExpiresOnForm) -> Response {
    let expires = now + lifetime;
    let mut body = serde_json::json!({
        "access_token": jwt,
        "expires_in": lifetime.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    let expires_on = match form {
        ExpiresOnForm::Number => Some(serde_json::json!(expires)),
        ExpiresOnForm::NumericString => Some(serde_json::json!(expires.to_string())),
        ExpiresOnForm::Date => Some(serde_json::json!(date_form(expires))),
        ExpiresOnForm::Absent => None,
    };
    if let Some(value) = expires_on {
        body["expires_on"] = value;
    }
    (
        status(200),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `MM/DD/YYYY HH:MM:SS +00:00` for a Unix time (civil-from-days, proleptic Gregorian).
fn date_form(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("{month:02}/{day:02}/{year:04} {h:02}:{m:02}:{s:02} +00:00")
}

#[cfg(test)]
mod tests {
    #[test]
    fn date_form_matches_a_known_instant() {
        assert_eq!(super::date_form(1_700_003_600), "11/14/2023 23:13:20 +00:00");
    }
}

//! The identity endpoints' token answer, with every `expires_on` form seen in the wild.

use std::time::Duration;

use serde::Deserialize;
use time::{format_description::FormatItem, macros::format_description, OffsetDateTime, PrimitiveDateTime};

/// The fields we read from an identity endpoint's JSON answer. `access_token` is moved into a
/// secret type right after parsing and never printed (this type has no `Debug`).
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: Option<String>,
    pub expires_on: Option<serde_json::Value>,
    pub expires_in: Option<serde_json::Value>,
}

/// The old App Service form, `MM/DD/YYYY HH:MM:SS +00:00`.
const DATE_FORM: &[FormatItem<'static>] = format_description!(
    "[month]/[day]/[year] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
);
/// The same without an offset, taken as UTC.
const DATE_FORM_NAIVE: &[FormatItem<'static>] =
    format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");

/// When the token expires: `expires_on` as a JSON number, a numeric string (Unix seconds) or
/// the date form; else `now + expires_in`. `None` when neither can be read.
pub fn expiry(response: &TokenResponse, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if let Some(on) = response.expires_on.as_ref().and_then(parse_expires_on) {
        return Some(on);
    }
    let seconds = response.expires_in.as_ref().and_then(json_seconds)?;
    Some(now + Duration::from_secs(seconds))
}

fn parse_expires_on(value: &serde_json::Value) -> Option<OffsetDateTime> {
    if let Some(seconds) = json_seconds(value) {
        return OffsetDateTime::from_unix_timestamp(i64::try_from(seconds).ok()?).ok();
    }
    let text = value.as_str()?.trim();
    OffsetDateTime::parse(text, DATE_FORM).ok().or_else(|| {
        PrimitiveDateTime::parse(text, DATE_FORM_NAIVE)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

/// A JSON number or a numeric string, as whole seconds.
fn json_seconds(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(
        expires_on: Option<serde_json::Value>,
        expires_in: Option<serde_json::Value>,
    ) -> TokenResponse {
        TokenResponse {
            access_token: Some("t".into()),
            expires_on,
            expires_in,
        }
    }

    const NOW: i64 = 1_700_000_000;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    #[test]
    fn expires_on_as_a_number() {
        let at = expiry(&response(Some(json!(NOW + 3600)), None), now()).unwrap();
        assert_eq!(at.unix_timestamp(), NOW + 3600);
    }

    #[test]
    fn expires_on_as_a_numeric_string() {
        let at = expiry(&response(Some(json!("1700003600")), None), now()).unwrap();
        assert_eq!(at.unix_timestamp(), NOW + 3600);
    }

    #[test]
    fn expires_on_in_the_date_form() {
        let at = expiry(&response(Some(json!("11/14/2023 23:13:20 +00:00")), None), now()).unwrap();
        assert_eq!(at.unix_timestamp(), NOW + 3600);
    }

    #[test]
    fn expires_in_is_the_fallback() {
        let at = expiry(&response(Some(json!("soon")), Some(json!("600"))), now()).unwrap();
        assert_eq!(at.unix_timestamp(), NOW + 600);
    }

    #[test]
    fn no_expiry_at_all_is_none() {
        assert!(expiry(&response(None, None), now()).is_none());
    }
}

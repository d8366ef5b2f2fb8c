//! Unsigned JWTs shaped like Entra ID's: Azurite in `--oauth basic` mode checks the issuer,
//! audience and times, not the signature.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// A token for `audience`, valid from `now` for `lifetime` seconds (negative: already expired).
pub fn mint(tenant: &str, audience: &str, client_id: Option<&str>, now: i64, lifetime: i64) -> String {
    let header = serde_json::json!({ "typ": "JWT", "alg": "RS256", "kid": "local-identity" });
    let app_id = client_id.unwrap_or("00000000-0000-0000-0000-00000000a1a1");
    let issued = now.min(now + lifetime) - 60;
    let claims = serde_json::json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": issued,
        "nbf": issued,
        "exp": now + lifetime,
        "appid": app_id,
        "oid": app_id,
        "sub": app_id,
        "tid": tenant,
        "idtyp": "app",
        "ver": "1.0",
    });
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.{}",
        encode(&header),
        encode(&claims),
        URL_SAFE_NO_PAD.encode(b"unsigned-local-token")
    )
}

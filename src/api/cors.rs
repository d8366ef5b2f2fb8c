//! CORS (`AML_CORS_ORIGINS`): which browser origins may call the server, and the layer that
//! answers their preflights and marks their answers, on every route.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use super::request_id;

/// How long a browser may cache a preflight's answer: the origins only change with a restart.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The origins allowed to call the server from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin.
    Any,
    /// These exact origins (`https://app.contoso.com`, scheme, host and port as the browser sends
    /// them in `Origin`).
    Exact(Vec<HeaderValue>),
}

/// Why an `AML_CORS_ORIGINS` value cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CorsOriginError {
    #[error("`*` allows every origin and must be the only value")]
    StarNotAlone,
    #[error(
        "`{0}` looks like a pattern; only exact origins (`https://app.contoso.com`) or `*` are \
         supported, the Python server's regular expressions are not"
    )]
    Pattern(String),
    #[error("`{0}` is not an origin: write the scheme, host and port only (`https://app.contoso.com:8443`, no path)")]
    NotAnOrigin(String),
    #[error("the list is empty")]
    Empty,
}

impl CorsOrigins {
    /// Parses a comma-separated list of exact origins, or `*`. A value with a regular
    /// expression's characters is refused: the Python server (flask-cors) read such values as
    /// patterns, and treating them as exact origins would refuse the browsers they were meant to
    /// let in, silently.
    pub fn parse(list: &str) -> Result<Self, CorsOriginError> {
        let values: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect();
        if values.is_empty() {
            return Err(CorsOriginError::Empty);
        }
        if values.contains(&"*") {
            return match values.len() {
                1 => Ok(CorsOrigins::Any),
                _ => Err(CorsOriginError::StarNotAlone),
            };
        }
        values
            .into_iter()
            .map(exact_origin)
            .collect::<Result<_, _>>()
            .map(CorsOrigins::Exact)
    }

    /// The layer: preflights from an allowed origin are answered with GET and POST and the
    /// headers they ask for; answers to an allowed origin carry `Access-Control-Allow-Origin`
    /// and expose the request-id headers; other origins get neither.
    pub fn layer(&self) -> CorsLayer {
        let origins = match self {
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::Exact(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        let exposed: Vec<HeaderName> = request_id::EXPOSED_HEADERS.to_vec();
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(exposed)
            .max_age(PREFLIGHT_MAX_AGE)
    }
}

/// The origins as configured: `*`, or the list, for the start-up line.
impl std::fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorsOrigins::Any => f.write_str("*"),
            CorsOrigins::Exact(origins) => {
                let names: Vec<&str> = origins.iter().filter_map(|o| o.to_str().ok()).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// One exact origin, as the browser writes it in `Origin`: `scheme://host[:port]`, lower case,
/// without a default port or a trailing slash.
fn exact_origin(value: &str) -> Result<HeaderValue, CorsOriginError> {
    const PATTERN_CHARACTERS: &[char] = &['*', '^', '$', '\\', '(', ')', '[', ']', '{', '}', '|', '+', '?'];
    if value.contains(PATTERN_CHARACTERS) {
        return Err(CorsOriginError::Pattern(value.to_owned()));
    }
    let not_an_origin = || CorsOriginError::NotAnOrigin(value.to_owned());
    let url = url::Url::parse(value).map_err(|_| not_an_origin())?;
    let origin = url.origin();
    let serialized = origin.ascii_serialization();
    let has_path = !matches!(url.path(), "" | "/");
    if !origin.is_tuple() || has_path || url.query().is_some() || url.fragment().is_some() {
        return Err(not_an_origin());
    }
    HeaderValue::from_str(&serialized).map_err(|_| not_an_origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(list: &[&'static str]) -> CorsOrigins {
        CorsOrigins::Exact(list.iter().map(|o| HeaderValue::from_static(o)).collect())
    }

    #[test]
    fn a_comma_separated_list_gives_the_browsers_spelling_of_each_origin() {
        let origins =
            CorsOrigins::parse(" https://App.Contoso.com , http://localhost:3000/,https://a.example:443")
                .unwrap();
        assert_eq!(
            origins,
            exact(&[
                "https://app.contoso.com",
                "http://localhost:3000",
                "https://a.example"
            ])
        );
    }

    #[test]
    fn a_star_alone_allows_any_origin_and_beside_others_is_refused() {
        assert_eq!(CorsOrigins::parse("*").unwrap(), CorsOrigins::Any);
        assert_eq!(
            CorsOrigins::parse("*,https://a.example").unwrap_err(),
            CorsOriginError::StarNotAlone
        );
    }

    #[test]
    fn regular_expressions_are_refused_naming_the_value() {
        let error = CorsOrigins::parse("https://a.example, https://.*\\.contoso\\.com").unwrap_err();
        assert_eq!(
            error,
            CorsOriginError::Pattern("https://.*\\.contoso\\.com".into())
        );
        assert!(error.to_string().contains("regular expressions are not"));
    }

    #[test]
    fn paths_and_bare_hosts_are_not_origins() {
        for value in [
            "https://a.example/app",
            "app.contoso.com",
            "https://a.example/?q=1",
            ",",
        ] {
            assert!(CorsOrigins::parse(value).is_err(), "{value}");
        }
    }
}

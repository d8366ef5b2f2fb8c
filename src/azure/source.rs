//! The three identity endpoints a container may have, and how each is asked for a token.

use azure_core::credentials::Secret;
use url::Url;

/// Where tokens come from, first match wins: Azure ML, App Service style, IMDS.
#[derive(Clone)]
pub enum IdentitySource {
    /// `MSI_ENDPOINT` + `MSI_SECRET`: header `secret`, parameter `clientid`.
    AzureMl { endpoint: Url, secret: Secret },
    /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`: header `X-IDENTITY-HEADER`, parameter `client_id`.
    AppService { endpoint: Url, header: Secret },
    /// The instance metadata service.
    Imds { host: Url },
}

impl IdentitySource {
    /// A short name for logs and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            IdentitySource::AzureMl { .. } => "Azure ML identity endpoint (MSI_ENDPOINT)",
            IdentitySource::AppService { .. } => "App Service identity endpoint (IDENTITY_ENDPOINT)",
            IdentitySource::Imds { .. } => "instance metadata service (IMDS)",
        }
    }

    /// Host and port of the endpoint, safe to log.
    pub fn host(&self) -> String {
        let url = match self {
            IdentitySource::AzureMl { endpoint, .. } | IdentitySource::AppService { endpoint, .. } => {
                endpoint
            }
            IdentitySource::Imds { host } => host,
        };
        let host = url.host_str().unwrap_or("?");
        url.port()
            .map_or_else(|| host.to_owned(), |port| format!("{host}:{port}"))
    }

    /// The token request for `resource`, with the client id under this source's parameter name.
    pub(super) fn request(
        &self,
        http: &reqwest::Client,
        resource: &str,
        client_id: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let (mut url, api_version, id_param) = match self {
            IdentitySource::AzureMl { endpoint, .. } => (endpoint.clone(), "2017-09-01", "clientid"),
            IdentitySource::AppService { endpoint, .. } => (endpoint.clone(), "2019-08-01", "client_id"),
            IdentitySource::Imds { host } => {
                let mut url = host.clone();
                url.set_path("/metadata/identity/oauth2/token");
                (url, "2018-02-01", "client_id")
            }
        };
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("api-version", api_version)
                .append_pair("resource", resource);
            if let Some(id) = client_id {
                query.append_pair(id_param, id);
            }
        }
        let request = http.get(url);
        match self {
            IdentitySource::AzureMl { secret, .. } => request
                .header("secret", secret.secret())
                .header("Metadata", "true"),
            IdentitySource::AppService { header, .. } => request.header("X-IDENTITY-HEADER", header.secret()),
            IdentitySource::Imds { .. } => request.header("Metadata", "true"),
        }
    }
}

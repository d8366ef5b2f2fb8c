//! `local-identity`: run the local managed-identity endpoint for a local `init` (never in Azure).

use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use local_identity::{IdentityEndpoint, Mode, Options};

/// A local managed-identity endpoint issuing tokens that Azurite (`--oauth basic`) accepts.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to bind.
    #[arg(long, env = "LOCAL_IDENTITY_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on.
    #[arg(long, env = "LOCAL_IDENTITY_PORT", default_value_t = 8911)]
    port: u16,
    /// Protocol to speak.
    #[arg(long, value_enum, default_value = "azure-ml")]
    mode: Mode,
    /// The secret clients must send (`MSI_SECRET` / `IDENTITY_HEADER`).
    #[arg(long, env = "LOCAL_IDENTITY_SECRET", default_value = "local-msi-secret")]
    secret: String,
    /// Client ids of user-assigned identities to accept (repeatable).
    #[arg(long = "client-id")]
    client_ids: Vec<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let options = Options {
        mode: args.mode,
        secret: args.secret,
        client_ids: args.client_ids,
        ..Options::default()
    };
    let endpoint = IdentityEndpoint::start(SocketAddr::new(args.host, args.port), options).await?;
    match args.mode {
        Mode::AzureMl => println!("MSI_ENDPOINT={}\nMSI_SECRET=<the --secret value>", endpoint.url()),
        Mode::AppService => println!(
            "IDENTITY_ENDPOINT={}\nIDENTITY_HEADER=<the --secret value>",
            endpoint.url()
        ),
        Mode::Imds => println!("AZURE_POD_IDENTITY_AUTHORITY_HOST={}", endpoint.url()),
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

//! A real Azurite (blob service only) over HTTPS with a test CA and `--oauth basic`, started once
//! per test binary and stopped when the test process exits. Fails loudly when Azurite is not
//! installed (`npm ci --prefix tests/azurite`, which `scripts/test.sh` runs).

use std::{
    io::Write,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use super::repo_path;

pub const ACCOUNT: &str = "devstoreaccount1";
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

pub struct Azurite {
    pub port: u16,
    pub ca_file: PathBuf,
    /// Closing its stdin (at process exit) makes the wrapper shell stop Azurite.
    _process: Mutex<(Child, ChildStdin)>,
}

impl Azurite {
    /// The shared instance, started on first use.
    pub fn shared() -> &'static Azurite {
        static AZURITE: OnceLock<Azurite> = OnceLock::new();
        AZURITE.get_or_init(start)
    }

    /// `STORAGE_BLOB_ENDPOINT` for this instance (no trailing slash).
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca_file).expect("the test CA exists");
        reqwest::Client::builder()
            .no_proxy()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).expect("the test CA is PEM"))
            .build()
            .expect("the test client builds")
    }

    /// Creates `container` and uploads `name` with `content`, as the walkthrough's `az storage
    /// blob upload` does (with a bearer token, which Azurite's basic OAuth accepts).
    pub async fn upload(&self, container: &str, name: &str, content: &[u8]) {
        let token =
            local_identity::mint_token(TENANT, "https://storage.azure.com", Duration::from_secs(3600));
        let client = self.client();
        let container_url = format!("{}/{container}?restype=container", self.endpoint());
        let created = client
            .put(container_url)
            .bearer_auth(&token)
            .header("x-ms-version", "2021-12-02")
            .header("content-length", "0")
            .send()
            .await
            .expect("Azurite answers");
        assert!(
            created.status() == 201 || created.status() == 409,
            "create container: {}",
            created.status()
        );
        let uploaded = client
            .put(format!("{}/{container}/{name}", self.endpoint()))
            .bearer_auth(&token)
            .header("x-ms-version", "2021-12-02")
            .header("x-ms-blob-type", "BlockBlob")
            .body(content.to_vec())
            .send()
            .await
            .expect("Azurite answers");
        assert_eq!(
            uploaded.status(),
            201,
            "upload: {}",
            uploaded.text().await.unwrap_or_default()
        );
    }
}

fn start() -> Azurite {
    let bin = repo_path("tests/azurite/node_modules/.bin/azurite-blob");
    assert!(
        bin.exists(),
        "Azurite is not installed at {}: run `npm ci --prefix tests/azurite` (scripts/test.sh does)",
        bin.display()
    );
    let dir = tempfile::Builder::new()
        .prefix("aml-scorer-azurite")
        .tempdir()
        .expect("a temp dir")
        .keep();
    let ca_file = make_certificates(&dir);
    let port = free_port();
    let azurite = format!(
        "{bin} --blobHost 127.0.0.1 --blobPort {port} --location {dir}/data --disableTelemetry --oauth basic \
         --cert {dir}/leaf.pem --key {dir}/leaf.key",
        bin = bin.display(),
        dir = dir.display(),
    );
    // The shell starts Azurite and stops it when our end of its stdin closes (at our exit).
    let script = format!(
        "{azurite} > {log} 2>&1 & pid=$!; read _; kill $pid",
        log = dir.join("azurite.log").display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sh runs");
    let lifeline = child.stdin.take().expect("stdin is piped");
    // Generous: on a 2-core host busy with a release build, Node once took over 30 s to start.
    let deadline = Instant::now() + Duration::from_secs(90);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.join("azurite.log")).unwrap_or_default();
            panic!("Azurite did not start listening on port {port} within 90 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Azurite {
        port,
        ca_file,
        _process: Mutex::new((child, lifeline)),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A test CA and a leaf certificate for 127.0.0.1 signed by it (rustls refuses a self-signed
/// certificate used as its own CA).
pub fn make_certificates(dir: &Path) -> PathBuf {
    let ext = dir.join("leaf.ext");
    let mut file = std::fs::File::create(&ext).unwrap();
    writeln!(
        file,
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost"
    )
    .unwrap();
    writeln!(
        file,
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth"
    )
    .unwrap();
    let d = dir.display();
    let steps = [
        format!("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout {d}/ca.key -out {d}/ca.pem -days 3 -subj /CN=aml-scorer-test-CA -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"),
        format!("req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout {d}/leaf.key -out {d}/leaf.csr -subj /CN=127.0.0.1"),
        format!("x509 -req -in {d}/leaf.csr -CA {d}/ca.pem -CAkey {d}/ca.key -CAcreateserial -out {d}/leaf.pem -days 3 -extfile {d}/leaf.ext"),
    ];
    for step in steps {
        let output = Command::new("openssl")
            .args(step.split(' '))
            .output()
            .expect("openssl is installed");
        assert!(
            output.status.success(),
            "openssl {step}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir.join("ca.pem")
}

//! Test harness: runs the real `aml-scorer` binary on 127.0.0.1 port 0, reads its JSON log lines
//! (the listening address among them), and talks to it over HTTP. Logs are echoed to stderr only
//! when `TEST_LOG` is set.

pub mod azurite;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

/// Every environment variable the server reads, from clap's own argument list (so the list cannot
/// drift): the host environment may carry any of them, and they would change what a test runs.
fn server_settings() -> Vec<String> {
    use clap::CommandFactory;
    aml_scorer::config::Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A running server process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server with the bundled model plus `args` and `env`, and waits until it listens.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::try_start(args, env).expect("the server starts listening")
    }

    /// Like `start`, but gives back the process's log and exit status when it never listens.
    pub fn try_start(args: &[&str], env: &[(&str, &str)]) -> Result<Server, (String, ExitStatus)> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_aml-scorer"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--host", "127.0.0.1", "--port", "0", "--log-format", "json"])
            .args(args)
            // Library errors must not pay for backtraces (the environment sets RUST_BACKTRACE).
            .env("RUST_LIB_BACKTRACE", "0");
        for name in server_settings() {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        Self::spawn(command)
    }

    /// Runs `command` (the binary, or a container engine running the image) and waits until the
    /// server in it logs that it listens.
    pub fn spawn(mut command: Command) -> Result<Server, (String, ExitStatus)> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the server command runs");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        spawn_reader(BufReader::new(stdout), logs.clone(), Some(addr_tx));
        spawn_reader(BufReader::new(stderr), logs.clone(), None);
        match addr_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Ok(Server { child, addr, logs }),
            Err(_) => {
                let status = wait_with_timeout(&mut child, Duration::from_secs(30)).unwrap_or_else(|| {
                    let _ = child.kill();
                    child.wait().expect("the killed child is reaped")
                });
                std::thread::sleep(Duration::from_millis(100));
                let text = logs.lock().unwrap().join("\n");
                Err((text, status))
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every log line so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Polls readiness until it answers 200.
    pub async fn wait_ready(&self, timeout: Duration) {
        let client = client();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(response) = client.get(self.url("/health/ready")).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("not ready within {timeout:?}; logs:\n{}", self.logs());
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_with_timeout(&mut self.child, timeout)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn spawn_reader(
    reader: impl BufRead + Send + 'static,
    logs: Arc<Mutex<Vec<String>>>,
    addr_tx: Option<mpsc::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if std::env::var_os("TEST_LOG").is_some() {
                eprintln!("[server] {line}");
            }
            if let Some(tx) = &addr_tx {
                if let Some(addr) = listening_address(&line) {
                    let _ = tx.send(addr);
                }
            }
            logs.lock().unwrap().push(line);
        }
    });
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let mut addr: SocketAddr =
        (value["message"] == "listening").then(|| value["address"].as_str()?.parse().ok())??;
    if addr.ip().is_unspecified() {
        // A container binds 0.0.0.0; with host networking it is reached on loopback.
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(addr)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain client builds")
}

/// A `POST /score` answer: status, body text, headers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message in {}", self.body))
            .to_owned()
    }
}

pub async fn post(server: &Server, body: impl Into<reqwest::Body>) -> Answer {
    let response = client()
        .post(server.url("/score"))
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("the answer has a body");
    Answer {
        status,
        body,
        headers,
    }
}

/// The reference model of `shared/reference/README.md`: `y = X . coef + intercept`.
pub const COEF: [f64; 10] = [
    0.3034995490660758,
    -237.63931533353468,
    510.5306054362256,
    327.7369804093469,
    -814.1317093725376,
    492.8145879837301,
    102.84845219167944,
    184.60648905984073,
    743.5196167505414,
    76.09517221662335,
];
pub const INTERCEPT: f64 = 152.76430691633442;
pub const SAMPLE_PREDICTIONS: [f64; 2] = [11055.977245525679, 4503.079536107787];

pub fn reference_prediction(row: &[f64]) -> f64 {
    row.iter().zip(COEF).map(|(x, c)| x * c).sum::<f64>() + INTERCEPT
}

pub fn assert_close(actual: f64, expected: f64, relative: f64) {
    let error = ((actual - expected) / expected).abs();
    assert!(
        error <= relative,
        "{actual} vs {expected}: relative error {error:e} > {relative:e}"
    );
}

/// Asserts the answer is the sample request's published predictions within 1e-9 relative.
pub fn assert_sample_predictions(answer: &Answer) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let values: Vec<f64> = serde_json::from_str(&answer.body).expect("a JSON array of numbers");
    assert_eq!(values.len(), 2);
    for (actual, expected) in values.iter().zip(SAMPLE_PREDICTIONS) {
        assert_close(*actual, expected, 1e-9);
    }
}

pub fn sample_request() -> String {
    std::fs::read_to_string(repo_path("sample-request.json"))
        .expect("sample-request.json is at the top level")
}

/// A `POST /score` of the sample request of which only the first half of the body has been
/// sent: the request is in flight until `finish` sends the rest and reads the answer.
pub struct HalfSentRequest {
    stream: std::net::TcpStream,
    tail: String,
}

impl HalfSentRequest {
    pub fn start(addr: SocketAddr) -> Self {
        use std::io::Write;
        let body = sample_request();
        let (head, tail) = body.split_at(body.len() / 2);
        let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
        write!(
            stream,
            "POST /score HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{head}",
            body.len()
        )
        .expect("the head is sent");
        stream.flush().expect("the head is flushed");
        HalfSentRequest {
            stream,
            tail: tail.to_owned(),
        }
    }

    /// Sends the rest of the body and returns the whole raw answer.
    pub fn finish(mut self) -> String {
        use std::io::{Read, Write};
        self.stream
            .write_all(self.tail.as_bytes())
            .expect("the tail is sent");
        let mut answer = String::new();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        self.stream
            .read_to_string(&mut answer)
            .expect("the answer is read");
        answer
    }
}

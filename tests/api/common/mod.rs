//! Test harness: runs the real `aml-scorer` binary on 127.0.0.1 port 0, reads its JSON log lines
//! (the listening address among them), and talks to it over HTTP. Logs are echoed to stderr only
//! when `TEST_LOG` is set.

pub mod azurite;
mod compress;
mod http;
mod python;

pub use compress::{gzip, zlib};
pub use http::*;
pub use python::{run_client, run_python};

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{mpsc, Arc, Mutex},
    time::{Duration, Instant},
};

/// Every environment variable the server reads, from clap's own argument list (so the list cannot
/// drift) and the config module's environment-only names: the host environment may carry any of them, and they would change what a test runs.
fn server_settings() -> Vec<String> {
    use clap::CommandFactory;
    aml_scorer::config::Cli::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        // Azure's and OpenTelemetry's names, read from the environment only.
        .chain(aml_scorer::config::TELEMETRY_ENVIRONMENT.map(str::to_owned))
        .collect()
}

/// Serves `<dir>/<name>.onnx` until ready, with its fixture `<dir>/<name>.json`.
pub async fn serve_fixture(dir: &str, name: &str) -> (Server, serde_json::Value) {
    let file = format!("{name}.onnx");
    let server = Server::start(&["--model-dir", dir, "--model-file", &file], &[]);
    server.wait_ready(Duration::from_secs(20)).await;
    let fixture = std::fs::read_to_string(repo_path(&format!("{dir}/{name}.json"))).unwrap();
    (server, serde_json::from_str(&fixture).expect("a fixture is JSON"))
}

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A running server process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    /// The threads reading stdout and stderr: an exited process's last lines may still be in the
    /// pipe, so `wait_exit` joins them before a test reads the log.
    readers: Vec<std::thread::JoinHandle<()>>,
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
        // gRPC on a free port too (its default, 8081, would be shared by every test's server);
        // a test's `env` or `--grpc-port` may set it otherwise.
        command.env("AML_SCORER_GRPC_PORT", "0");
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
        let readers = vec![
            spawn_reader(BufReader::new(stdout), logs.clone(), Some(addr_tx)),
            spawn_reader(BufReader::new(stderr), logs.clone(), None),
        ];
        match addr_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Ok(Server {
                child,
                addr,
                logs,
                readers,
            }),
            Err(_) => {
                let status = wait_with_timeout(&mut child, Duration::from_secs(30)).unwrap_or_else(|| {
                    let _ = child.kill();
                    child.wait().expect("the killed child is reaped")
                });
                let deadline = Instant::now() + Duration::from_secs(5);
                while readers.iter().any(|reader| !reader.is_finished()) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let text = logs.lock().unwrap().join("\n");
                Err((text, status))
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The gRPC address the server logged (`listening for gRPC`, logged before `listening`).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .find_map(|line| logged_address(line, "listening for gRPC"))
            .unwrap_or_else(|| panic!("no `listening for gRPC` line:\n{}", self.logs()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's peak resident memory so far, in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .expect("VmHWM in /proc status");
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
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

    /// Polls readiness until it answers 200, then waits for the server's `ready` log line: the
    /// server logs it right after readiness turns, and once the reader has it, every line logged
    /// before it (the `init` steps a test may check) has been read too.
    pub async fn wait_ready(&self, timeout: Duration) {
        let client = client();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(response) = client.get(self.url("/health/ready")).send().await {
                if response.status() == 200 {
                    while Instant::now() < deadline {
                        if self.logs().contains(r#""message":"ready""#) {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    panic!(
                        "ready, but no `ready` log line within {timeout:?}:\n{}",
                        self.logs()
                    );
                }
            }
            let logs = self.logs();
            if logs.contains("init failed") {
                panic!("init failed; logs:\n{logs}");
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

    /// Waits for the process to exit, then for its last log lines to be read (the pipes close
    /// when it exits, unless a child of its own still holds them: bounded by `timeout` too).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let status = wait_with_timeout(&mut self.child, timeout)?;
        while self.readers.iter().any(|reader| !reader.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(status)
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
) -> std::thread::JoinHandle<()> {
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
    })
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    logged_address(line, "listening")
}

/// The address of a JSON log line whose message is `message`.
fn logged_address(line: &str, message: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let mut addr: SocketAddr =
        (value["message"] == message).then(|| value["address"].as_str()?.parse().ok())??;
    if addr.ip().is_unspecified() {
        // A container binds 0.0.0.0; with host networking it is reached on loopback.
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Some(addr)
}

/// Every number within 1e-5 (relative, absolute near zero) of onnxruntime's, flattened.
pub fn assert_close_to(actual: &serde_json::Value, expected: &serde_json::Value) {
    fn flat(value: &serde_json::Value, out: &mut Vec<f64>) {
        match value {
            serde_json::Value::Array(items) => items.iter().for_each(|item| flat(item, out)),
            other => out.push(other.as_f64().unwrap_or_else(|| panic!("a number: {other}"))),
        }
    }
    let (mut a, mut e) = (Vec::new(), Vec::new());
    flat(actual, &mut a);
    flat(expected, &mut e);
    assert_eq!(a.len(), e.len(), "{actual} vs {expected}");
    for (a, e) in a.iter().zip(&e) {
        assert!(
            (a - e).abs() <= 1e-5 * e.abs().max(1.0),
            "{a} vs {e}: {actual} vs {expected}"
        );
    }
}

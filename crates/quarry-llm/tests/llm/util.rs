//! Shared helpers: the default model, and a real llama.cpp server for the client tests.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use quarry_llm::{LlamaChat, LlamaConfig};

/// The GGUF that `scripts/setup.sh` installs; the tests fail (not skip) without it.
pub fn gguf() -> PathBuf {
    let p = quarry_llm::default_gguf();
    assert!(p.is_file(), "{} is missing: run scripts/setup.sh --tests first", p.display());
    p
}

/// One embedded model for every test in this binary (loading it takes a moment).
pub fn embedded() -> &'static LlamaChat {
    static MODEL: OnceLock<LlamaChat> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut cfg = LlamaConfig::new(gguf());
        cfg.n_ctx = 2048;
        LlamaChat::load(cfg).expect("the embedded model loads")
    })
}

/// A llama-cpp-python server serving the default GGUF, with its request log.
pub struct Server {
    pub base_url: String,
    child: Child,
    /// Lines the server printed (its access log counts requests).
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Chat-completion requests the server has logged so far.
    pub fn completions(&self) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains("POST /v1/chat/completions")).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server on a free port and waits until it answers.
pub fn start_server(api_key: Option<&str>) -> Server {
    let python = quarry_core::cache_dir().join("test-venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup-test-tools.sh (scripts/test.sh does)",
        python.display()
    );
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "llama_cpp.server", "--model"])
        .arg(gguf())
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--n_ctx", "4096", "--n_threads", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(key) = api_key {
        cmd.args(["--api_key", key]);
    }
    let mut child = cmd.spawn().expect("start llama_cpp.server");
    let log = Arc::new(Mutex::new(Vec::new()));
    for out in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
    }
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("llama_cpp.server exited with {status}: {}", log.lock().unwrap().join("\n"));
        }
        assert!(started.elapsed() < Duration::from_secs(120), "llama_cpp.server did not start in 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    Server { base_url, child, log }
}

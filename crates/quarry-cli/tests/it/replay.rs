//! The replay server (`scripts/replay-server.py`): a real OpenAI-compatible server on
//! 127.0.0.1 that answers quarry's prompts from SQuAD-format gold (see that script).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// The replay server, stopped when dropped.
pub struct Replay {
    child: Child,
    pub url: String,
    pub port: u16,
}

impl Replay {
    pub fn start(data: &Path, style: &str) -> Replay {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Replay::start_on(data, style, port, 0.0)
    }

    /// On `port`, taking `delay` seconds over every reply.
    pub fn start_on(data: &Path, style: &str, port: u16, delay: f64) -> Replay {
        let child = Command::new("python3")
            .env("REPLAY_DELAY", delay.to_string())
            .arg(repo("scripts/replay-server.py"))
            .arg(data)
            .arg(data)
            .arg(port.to_string())
            .arg(style)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the replay server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the replay server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Replay { child, url: format!("http://127.0.0.1:{port}/v1"), port }
    }

    /// What the server was asked (GET /stats).
    pub fn stats(&self) -> Value {
        let o = Command::new("curl").args(["-s", &format!("{}/stats", self.url)]).output().expect("curl runs");
        serde_json::from_slice(&o.stdout).expect("stats are JSON")
    }
}

impl Replay {
    /// Stops the server at once (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

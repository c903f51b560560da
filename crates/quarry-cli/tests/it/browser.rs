//! A real browser for tests: Debian's chromium, headless, started here and driven over the
//! Chrome DevTools Protocol (a websocket): keys, clicks, script evaluation, downloads and
//! screenshots. `scripts/setup.sh --tests` installs chromium.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// A headless chromium with one page, closed when dropped.
pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    session: String,
    next: u64,
}

fn executable() -> &'static str {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is needed (scripts/setup.sh --tests installs it)")
}

impl Browser {
    /// Starts chromium with its profile in `profile`, downloads going to `downloads`, and
    /// opens `url` in a page.
    pub fn open(url: &str, profile: &Path, downloads: &Path) -> Browser {
        let mut child = Command::new(executable())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
            ])
            .arg("--window-size=1280,900")
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium starts");
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let ws_url = loop {
            let line = lines.next().expect("chromium printed its DevTools address").unwrap();
            if let Some(u) = line.split_whitespace().find(|w| w.starts_with("ws://")) {
                break u.to_owned();
            }
        };
        // Keep reading stderr so chromium never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let hostport = ws_url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
        let stream = TcpStream::connect(&hostport).unwrap();
        let (ws, _) = tungstenite::client(ws_url.as_str(), stream).expect("DevTools websocket");
        let mut b = Browser { child, ws, session: String::new(), next: 0 };
        b.call_browser(
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": downloads.display().to_string()}),
        );
        let target = b.call_browser("Target.createTarget", json!({"url": "about:blank"}))["targetId"].clone();
        let session = b.call_browser("Target.attachToTarget", json!({"targetId": target, "flatten": true}));
        b.session = session["sessionId"].as_str().unwrap().to_owned();
        b.call("Page.enable", json!({}));
        b.call("Page.navigate", json!({"url": url}));
        b.wait_for("document.readyState === 'complete'");
        b
    }

    fn send(&mut self, method: &str, params: Value, session: Option<String>) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::Text(msg.to_string().into())).unwrap();
        loop {
            let m = self.ws.read().expect("a DevTools reply");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, None)
    }

    /// A DevTools command to the page.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(method, params, Some(s))
    }

    /// Evaluates `expr` in the page; its value (JSON-serialisable).
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true, "awaitPromise": true}));
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    /// Waits (up to 10 s) until `expr` is true in the page.
    pub fn wait_for(&mut self, expr: &str) {
        let started = Instant::now();
        while self.eval(expr) != json!(true) {
            assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {expr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Presses and releases one key, as a person typing it.
    pub fn key(&mut self, key: &str) {
        let text = if key.chars().count() == 1 { key } else { "" };
        let code = match key {
            "Enter" => 13,
            "Escape" => 27,
            k => k.chars().next().map_or(0, |c| c.to_ascii_uppercase() as u32),
        };
        for kind in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "text": if kind == "keyDown" { text } else { "" },
                       "windowsVirtualKeyCode": code}),
            );
        }
    }

    /// Types `text` into whatever has the focus.
    pub fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text}));
    }

    /// Clicks the middle of the element `selector` with the mouse.
    pub fn click(&mut self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        let r = self.eval(&format!(
            "(function(){{var e=document.querySelector({sel}); e.scrollIntoView({{block:'center'}}); var r=e.getBoundingClientRect(); return [r.x+r.width/2, r.y+r.height/2];}})()"
        ));
        let (x, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// A PNG of the page as it is shown.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

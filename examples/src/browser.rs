//! A headless Chromium for tests of the web UI: the page's DOM once it has
//! rendered `/state`, and screenshots. Used by the UI's own test and by the
//! tests that follow a browser to the leading master.
//!
//! It fails the test, never skips it, when no Chromium runs: on a fresh
//! machine it first runs the project's `scripts/install-test-deps.sh`.

// A test helper that starts a real browser and waits on it by the clock.
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A headless Chromium; see the module doc.
pub struct Browser {
    program: String,
    /// Its profile and output files; removed when the test ends.
    scratch: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Browser {
    /// Chromium (`$CORRAL_CHROMIUM`, else `chromium` on the PATH), keeping
    /// its profile under `scratch`; fails the test, never skips it, when
    /// there is none.
    pub fn find(scratch: &Path) -> Browser {
        let program = std::env::var("CORRAL_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
        let runs = |program: &str| {
            Command::new(program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        // On a fresh machine the project's own script installs it, so that
        // `cargo test --workspace` alone works.
        if !runs(&program) && std::env::var_os("CORRAL_CHROMIUM").is_none() {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-test-deps.sh");
            let _ = Command::new("bash").arg(script).status();
        }
        let works = runs(&program);
        assert!(
            works,
            "`{program}` does not run: this test checks the web UI in a headless Chromium; \
             install it with `scripts/install-test-deps.sh` (or point CORRAL_CHROMIUM at one)"
        );
        let scratch = scratch.join(format!("chromium-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).expect("a scratch directory");
        Browser { program, scratch }
    }

    /// The page's DOM after its first load of /state (tried three times:
    /// on a loaded machine the first poll may outlast the virtual time).
    pub fn rendered_dom(&self, url: &str) -> String {
        let mut dom = String::new();
        for _ in 0..3 {
            dom = self.run(url, &["--virtual-time-budget=5000", "--dump-dom"]);
            if loaded(&dom) {
                return dom;
            }
        }
        panic!("the page at {url} never rendered /state; its DOM:\n{dom}");
    }

    /// A screenshot of `url` at 1280×900 into `path`.
    pub fn screenshot(&self, url: &str, path: &Path) {
        let shot = format!("--screenshot={}", path.display());
        // More virtual time on the overview: the chart gets a few samples.
        let args = [
            "--virtual-time-budget=12000",
            "--window-size=1280,900",
            &shot,
        ];
        self.run(url, &args);
    }

    /// Runs Chromium headless on `url` for at most 60 s; returns stdout.
    pub fn run(&self, url: &str, args: &[&str]) -> String {
        let (out, err) = (self.scratch.join("stdout"), self.scratch.join("stderr"));
        let mut child = Command::new(&self.program)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!(
                "--user-data-dir={}",
                self.scratch.join("profile").display()
            ))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(File::create(&out).expect("stdout file"))
            .stderr(File::create(&err).expect("stderr file"))
            .spawn()
            .expect("chromium starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("chromium can be waited on") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 60 s on {url}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        assert!(
            status.success(),
            "chromium failed on {url} ({status}):\n{stderr}"
        );
        std::fs::read_to_string(&out).expect("chromium's output")
    }
}

/// Whether the page says it has rendered `/state` (`<body data-loaded="true">`).
fn loaded(dom: &str) -> bool {
    let Some(at) = dom.find("<body") else {
        return false;
    };
    let tag_end = dom[at..].find('>').map_or(dom.len(), |e| at + e);
    dom[at..tag_end].contains("data-loaded=\"true\"")
}

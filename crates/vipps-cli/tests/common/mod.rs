//! Shared by the CLI tests: a `vipps emulator` child process and running the binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The `vipps` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_vipps");

/// A child process killed on drop.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `vipps emulator --port 0` and returns it with its base URL.
pub fn start_emulator() -> (Server, String) {
    start_emulator_with(&[])
}

/// Starts `vipps emulator --port 0 extra…` and returns it with its base URL.
pub fn start_emulator_with(extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args(["emulator", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (Server(child), url)
}

/// Runs `vipps args…` against `base`: (success, stdout, stderr).
pub fn vipps(base: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("VIPPS_CLIENT_ID")
        .env("VIPPS_BASE_URL", base)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A directory of its own under the system's temporary directory, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `vipps-<tag>-<pid>-<random>`.
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "vipps-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! End to end through a real terminal: `lateral watch` runs in tmux on an empty directory, a
//! chain scenario is appended to a log file, and the test reads the screen until a Critical
//! session appears (within 5 s), then opens its detail screen.
//!
//! Needs tmux (`.ci/run` installs it); without it the test prints that it was skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report
#![allow(clippy::disallowed_methods)] // an end-to-end test waits on the wall clock

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("running tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Poll the pane until `pred` holds or `limit` passes; returns the last screen.
fn wait_for(session: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> (bool, String) {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if pred(&screen) {
            return (true, screen);
        }
        if start.elapsed() > limit {
            return (false, screen);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn exec(pod: &str, id: &str, secs: u32, binary: &str, args: &str) -> String {
    format!(
        concat!(
            r#"{{"process_exec":{{"process":{{"exec_id":"{id}","pid":{pid},"uid":0,"cwd":"/","binary":"{bin}","arguments":"{args}","#,
            r#""flags":"execve","start_time":"2024-06-01T10:00:{s:02}Z","pod":{{"namespace":"shop","name":"{pod}","#,
            r#""container":{{"id":"containerd://4c1d","name":"web","image":{{"name":"registry.local/shop/web:1.4"}}}}}}}},"#,
            r#""parent":{{"exec_id":"p-{id}","pid":1,"binary":"/bin/sh"}}}},"node_name":"node-1","time":"2024-06-01T10:00:{s:02}Z"}}"#,
            "\n"
        ),
        id = id,
        pid = 1000 + secs,
        bin = binary,
        args = args,
        s = secs,
        pod = pod,
    )
}

#[test]
fn a_critical_session_appears_live_and_its_detail_opens() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux end-to-end test skipped: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let ws = dir.path().join("ws");
    let bin = env!("CARGO_BIN_EXE_lateral");
    let session = format!("lateral-e2e-{}", std::process::id());
    let cmd = format!(
        "{bin} watch {} --workspace {} --from-start",
        shell(&logs),
        shell(&ws)
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &cmd,
    ]);
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["kill-session", "-t", &self.0])
                .output();
        }
    }
    let _guard = Kill(session.clone());

    // The UI is up when the overview shows.
    let (up, screen) = wait_for(&session, Duration::from_secs(10), |s| {
        s.contains("Overview") || s.contains("Sessions")
    });
    assert!(up, "the UI did not start:\n{screen}");

    let pod = "web-7d9f8b6c5d-x2k9q";
    let mut lines = String::new();
    lines.push_str(&exec(pod, "a1", 1, "/usr/bin/whoami", ""));
    lines.push_str(&exec(
        pod,
        "a2",
        2,
        "/bin/cat",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
    ));
    lines.push_str(&exec(pod, "a3", 3, "/usr/bin/nmap", "-sS 10.9.0.0/24"));
    lines.push_str(&exec(pod, "a4", 4, "/usr/bin/ssh", "admin@10.9.0.5"));
    append(&logs.join("tetragon.json"), &lines);

    let appended = Instant::now();
    let (seen, screen) = wait_for(&session, Duration::from_secs(5), |s| {
        s.contains("CRIT") && s.contains("Comprehensive Lateral Movement")
    });
    assert!(
        seen,
        "no Critical session within 5 s of the append:\n{screen}"
    );
    eprintln!(
        "critical session visible {} ms after the append",
        appended.elapsed().as_millis()
    );

    // Sessions screen, first row, Enter: the detail names the case and why it fired.
    tmux(&["send-keys", "-t", &session, "2"]);
    let (_, _) = wait_for(&session, Duration::from_secs(2), |s| {
        s.contains("Comprehensive")
    });
    tmux(&["send-keys", "-t", &session, "g", "Enter"]);
    let (detail, screen) = wait_for(&session, Duration::from_secs(3), |s| {
        s.contains("Comprehensive Lateral Movement")
            && (s.contains("Remote Access") || s.contains("remote_access"))
            && s.contains(pod)
    });
    assert!(detail, "the detail screen did not open:\n{screen}");

    tmux(&["send-keys", "-t", &session, "q"]);
    let (gone, screen) = wait_for(&session, Duration::from_secs(5), |s| {
        !s.contains("Comprehensive")
    });
    assert!(gone, "q did not quit:\n{screen}");
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn shell(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

//! A NATS JetStream cluster on loopback for tests and benchmarks: servers started and
//! killed by the caller, each in its own store directory.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `nats-server` from `LATERAL_NATS_SERVER` or the PATH.
pub fn nats_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LATERAL_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills its child on drop (a failing test leaves no servers behind).
pub struct Proc {
    pub child: Option<Child>,
    pub name: String,
}

impl Proc {
    /// Start `program args...` with stdout discarded and stderr into `log`.
    pub fn spawn(program: &str, args: &[&str], log: &Path) -> Proc {
        let f = std::fs::File::create(log).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(f)
            .spawn()
            .unwrap();
        Proc {
            child: Some(child),
            name: args.first().map_or(program, |a| a).to_string(),
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    pub fn term(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            panic!("{} did not stop on SIGTERM", self.name);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub client: Vec<u16>,
    pub route: Vec<u16>,
    pub nodes: Vec<Proc>,
}

impl Cluster {
    /// Three nodes.
    pub fn start(bin: PathBuf, dir: &Path) -> Cluster {
        Cluster::start_n(bin, dir, 3)
    }

    /// `n` nodes (1: a plain JetStream server, no cluster).
    pub fn start_n(bin: PathBuf, dir: &Path, n: usize) -> Cluster {
        let client: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let route: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut c = Cluster {
            dir: dir.to_path_buf(),
            bin,
            client,
            route,
            nodes: Vec::new(),
        };
        for i in 0..n {
            let p = c.spawn(i);
            c.nodes.push(p);
        }
        for port in &c.client {
            wait_port(*port);
        }
        c
    }

    pub fn spawn(&self, i: usize) -> Proc {
        let routes: Vec<String> = self
            .route
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{p}"))
            .collect();
        let mut conf = format!(
            "server_name: n{i}\nlisten: 127.0.0.1:{}\njetstream {{ store_dir: \"{}\" }}\n",
            self.client[i],
            self.dir.join(format!("js{i}")).display(),
        );
        if self.client.len() > 1 {
            conf.push_str(&format!(
                "cluster {{\n  name: lateral-test\n  listen: 127.0.0.1:{}\n  routes: [{}]\n}}\n",
                self.route[i],
                routes.join(", ")
            ));
        }
        let path = self.dir.join(format!("n{i}.conf"));
        std::fs::write(&path, conf).unwrap();
        let log = std::fs::File::create(self.dir.join(format!("n{i}.log"))).unwrap();
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc {
            child: Some(child),
            name: format!("nats n{i}"),
        }
    }

    pub fn urls(&self) -> String {
        self.client
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("port {port} never opened");
}

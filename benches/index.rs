//! Index throughput, size and search latency: `cargo bench --bench index`.
//!
//! Events are generated, shaped like real ones: Zeek conn lines and sshd-style Zeek logs
//! through the real decoders, Windows Security logons (4624/4625 with the rendered message, as
//! OTRF/NXLog exports carry it), process creations (4688) and share access (5145) with their
//! originals, and the Falco, Hubble, Tetragon, VPC flow and Zeek JSON fixtures with values
//! varied. A pool of distinct events is built once; the stream cycles through it with fresh
//! ids and times (one hour of event time per million events).
//!
//! Reported: indexing events/s with 1 and 2 writer threads (until the last commit, and with
//! the final merges), re-indexing the same events (all duplicates), the cost of each dedup
//! mode, bytes per event on disk (all, and the stored events alone), search latency p50/p99
//! over five query shapes, and peak RSS (VmHWM).
//!
//! `LATERAL_BENCH_EVENTS=10000000 cargo bench --bench index` for 10M; `-- quick` runs 100k;
//! `LATERAL_BENCH_MIX=conn` indexes Zeek conn events only (smaller, no rendered messages);
//! `LATERAL_BENCH_DIR` puts the indexes elsewhere than the temp directory;
//! `LATERAL_BENCH_THREADS=2` runs only the given writer thread counts.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods)]
// Benchmark set-up that fails has nothing to measure: a panic is the report.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lateral::decode::{self, Context};
use lateral::event::{Event, Field, Networks};
use lateral::index::{Dedup, Index, Query, TimeRange, WriterConfig};

const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_717_200_000 * SEC;
const POOL: usize = 50_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const USERS: &[&str] = &[
    "pgustavo",
    "mmurphy",
    "svc_backup",
    "administrator",
    "jdoe",
    "asmith",
    "svc_sql",
    "helpdesk",
    "kwilson",
    "rlopez",
    "tnguyen",
    "svc_web",
    "dbrown",
    "epatel",
    "lchen",
];
const HOSTS: &[&str] = &[
    "WS01", "WS02", "WS03", "WS04", "WS05", "FS01", "DC01", "DC02", "SQL01", "WEB01", "WEB02",
    "JUMP01", "APP01", "APP02", "EXCH01",
];
const CMDS: &[&str] = &[
    "C:\\Windows\\system32\\cmd.exe /c whoami /all",
    "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1",
    "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
    "C:\\Windows\\PSEXESVC.exe",
    "net use \\\\FS01\\admin$ /user:CORP\\svc_backup",
    "C:\\Program Files\\Microsoft SQL Server\\MSSQL15\\Binn\\sqlservr.exe -sMSSQLSERVER",
    "wmic /node:10.1.4.22 process call create \"cmd.exe /c ipconfig\"",
    "C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
    "schtasks /create /s WS03 /tn update /tr c:\\temp\\u.exe /sc once /st 00:00",
    "C:\\Windows\\explorer.exe",
];

fn ip(rng: &mut Rng) -> String {
    format!(
        "10.{}.{}.{}",
        1 + rng.below(4),
        rng.below(16),
        1 + rng.below(250)
    )
}

fn windows_event(rng: &mut Rng) -> Event {
    let mut e = Event::new(T0);
    let host = rng.pick(HOSTS);
    let user = rng.pick(USERS);
    let code = match rng.below(10) {
        0..=4 => 4624,
        5 => 4625,
        6..=8 => 4688,
        _ => 5145,
    };
    let src = ip(rng);
    let logon_type = [3, 3, 3, 2, 10, 5][rng.below(6) as usize];
    let logon_id = format!("0x{:x}", 0x3e7 + rng.below(1 << 24));
    e.set(Field::EventModule, "windows");
    e.set(Field::EventDataset, "windows.security");
    e.set(Field::EventCode, code.to_string());
    e.set(Field::HostName, format!("{host}.corp.example"));
    e.set(Field::UserName, user);
    e.set(Field::UserDomain, "CORP");
    e.set(Field::LogonId, logon_id.as_str());
    let mut o: Vec<(String, serde_json::Value)> = vec![
        (
            "SourceName".into(),
            "Microsoft-Windows-Security-Auditing".into(),
        ),
        ("Channel".into(), "Security".into()),
        ("Hostname".into(), format!("{host}.corp.example").into()),
        ("EventID".into(), code.into()),
        ("Keywords".into(), "-9214364837600034816".into()),
        ("SeverityValue".into(), 2.into()),
        ("Task".into(), 12544.into()),
        ("RecordNumber".into(), rng.below(1 << 30).into()),
        ("ProcessID".into(), 716.into()),
        ("ThreadID".into(), (1000 + rng.below(9000)).into()),
        ("SubjectUserSid".into(), "S-1-5-18".into()),
        ("SubjectUserName".into(), format!("{host}$").into()),
        ("SubjectDomainName".into(), "CORP".into()),
        ("SubjectLogonId".into(), "0x3e7".into()),
    ];
    let message = match code {
        4624 | 4625 => {
            e.set(Field::EventCategory, "authentication");
            e.set(
                Field::EventAction,
                if code == 4624 {
                    "logged-in"
                } else {
                    "logon-failed"
                },
            );
            e.set(
                Field::EventOutcome,
                if code == 4624 { "success" } else { "failure" },
            );
            e.set(Field::LogonType, i64::from(logon_type));
            e.set(Field::SourceIp, src.as_str());
            e.set(Field::SourcePort, (49152 + rng.below(16000)) as i64);
            e.set(Field::SourceDomain, rng.pick(HOSTS));
            let pkg = if rng.below(3) == 0 {
                "NTLM"
            } else {
                "Kerberos"
            };
            e.set(Field::AuthPackage, pkg);
            for (k, v) in [
                ("TargetUserName", user.to_string()),
                ("TargetDomainName", "CORP".into()),
                ("TargetLogonId", logon_id.clone()),
                ("LogonType", logon_type.to_string()),
                ("LogonProcessName", "NtLmSsp".into()),
                ("AuthenticationPackageName", pkg.into()),
                ("WorkstationName", rng.pick(HOSTS).into()),
                (
                    "LogonGuid",
                    format!("{{{:08x}-0000-0000-0000-000000000000}}", rng.next() as u32),
                ),
                ("IpAddress", src.clone()),
                ("IpPort", (49152 + rng.below(16000)).to_string()),
                ("ImpersonationLevel", "%%1833".into()),
                ("KeyLength", "0".into()),
            ] {
                o.push((k.into(), v.into()));
            }
            format!(
                "An account was successfully logged on.\r\n\r\nSubject:\r\n\tSecurity ID:\t\tS-1-5-18\r\n\tAccount Name:\t\t{host}$\r\n\tAccount Domain:\t\tCORP\r\n\tLogon ID:\t\t0x3E7\r\n\r\nLogon Information:\r\n\tLogon Type:\t\t{logon_type}\r\n\tRestricted Admin Mode:\t-\r\n\tVirtual Account:\t\tNo\r\n\tElevated Token:\t\tYes\r\n\r\nImpersonation Level:\t\tImpersonation\r\n\r\nNew Logon:\r\n\tSecurity ID:\t\tS-1-5-21-3623811015-3361044348-30300820-1013\r\n\tAccount Name:\t\t{user}\r\n\tAccount Domain:\t\tCORP\r\n\tLogon ID:\t\t{logon_id}\r\n\r\nNetwork Information:\r\n\tWorkstation Name:\t-\r\n\tSource Network Address:\t{src}\r\n\tSource Port:\t\t0\r\n\r\nDetailed Authentication Information:\r\n\tLogon Process:\t\tKerberos\r\n\tAuthentication Package:\tKerberos\r\n\tTransited Services:\t-\r\n\tPackage Name (NTLM only):\t-\r\n\tKey Length:\t\t0\r\n\r\nThis event is generated when a logon session is created. It is generated on the computer that was accessed."
            )
        }
        4688 => {
            let cmd = rng.pick(CMDS);
            let exe = cmd
                .trim_start_matches('"')
                .split(['"', ' '])
                .next()
                .unwrap_or(cmd);
            e.set(Field::EventCategory, "process");
            e.set(Field::EventAction, "process-started");
            e.set(Field::ProcessPid, (4 + rng.below(20000) * 4) as i64);
            e.set(Field::ProcessExecutable, exe);
            e.set(Field::ProcessCommandLine, cmd);
            e.set(
                Field::ProcessParentExecutable,
                "C:\\Windows\\System32\\services.exe",
            );
            for (k, v) in [
                ("NewProcessId", format!("0x{:x}", rng.below(1 << 16))),
                ("NewProcessName", exe.to_string()),
                ("CommandLine", cmd.to_string()),
                (
                    "ParentProcessName",
                    "C:\\Windows\\System32\\services.exe".into(),
                ),
                ("TokenElevationType", "%%1936".into()),
                ("MandatoryLabel", "S-1-16-16384".into()),
            ] {
                o.push((k.into(), v.into()));
            }
            format!(
                "A new process has been created.\r\n\r\nCreator Subject:\r\n\tSecurity ID:\t\tS-1-5-18\r\n\tAccount Name:\t\t{host}$\r\n\tAccount Domain:\t\tCORP\r\n\tLogon ID:\t\t0x3E7\r\n\r\nProcess Information:\r\n\tNew Process Name:\t{exe}\r\n\tToken Elevation Type:\t%%1936\r\n\tMandatory Label:\t\tS-1-16-16384\r\n\tProcess Command Line:\t{cmd}\r\n\r\nToken Elevation Type indicates the type of token that was assigned to the new process in accordance with User Account Control policy."
            )
        }
        _ => {
            let share = ["\\\\*\\ADMIN$", "\\\\*\\IPC$", "\\\\*\\C$"][rng.below(3) as usize];
            let path = ["svcctl", "PSEXESVC.exe", "Windows\\Temp\\u.exe"][rng.below(3) as usize];
            e.set(Field::EventCategory, "file");
            e.set(Field::EventAction, "share-accessed");
            e.set(Field::SourceIp, src.as_str());
            e.set(Field::FilePath, format!("{share}\\{path}"));
            for (k, v) in [
                ("ShareName", share.to_string()),
                ("RelativeTargetName", path.to_string()),
                ("IpAddress", src.clone()),
                ("AccessMask", "0x12019f".into()),
            ] {
                o.push((k.into(), v.into()));
            }
            format!(
                "A network share object was checked to see whether client can be granted desired access.\r\n\r\nShare Information:\r\n\tShare Name:\t\t{share}\r\n\tRelative Target Name:\t{path}\r\n\r\nNetwork Information:\r\n\tSource Address:\t\t{src}"
            )
        }
    };
    o.push(("Message".into(), message.into()));
    e.original = o;
    e.set(
        Field::LogFilePath,
        format!("/evidence/{host}/Security.json"),
    );
    e
}

fn zeek_conn(rng: &mut Rng, lines: usize) -> Vec<Event> {
    let mut text = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
    );
    for i in 0..lines {
        let (port, service) = [
            (445, "smb"),
            (3389, "-"),
            (53, "dns"),
            (88, "krb"),
            (443, "ssl"),
            (5985, "-"),
            (135, "dce_rpc"),
            (22, "ssh"),
        ][rng.below(8) as usize];
        let proto = if port == 53 { "udp" } else { "tcp" };
        let _ = writeln!(
            text,
            "{}.{:06}\tC{:016x}\t{}\t{}\t{}\t{port}\t{proto}\t{service}\t{}.{:06}\t{}\t{}\t{}\tT\tT\t0\tShADadFf\t{}\t{}\t{}\t{}\t(empty)",
            1_717_200_000 + i as i64,
            rng.below(1_000_000),
            rng.next(),
            ip(rng),
            49152 + rng.below(16000),
            ip(rng),
            rng.below(60),
            rng.below(1_000_000),
            rng.below(100_000),
            rng.below(100_000),
            ["SF", "S0", "REJ", "RSTO"][rng.below(4) as usize],
            rng.below(100),
            rng.below(100_000),
            rng.below(100),
            rng.below(100_000),
        );
    }
    let format = decode::format_by_name("zeek-tsv").expect("zeek-tsv format");
    let ctx = Context::new("bench-conn", "/zeek/conn.log", Networks::default(), T0);
    decode::decode_all(format, text.as_bytes(), &ctx).events
}

fn fixture_events() -> Vec<Event> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for format in decode::FORMATS {
        let Ok(dir) = std::fs::read_dir(root.join(format.name)) else {
            continue;
        };
        for f in dir.flatten() {
            if let Ok(bytes) = std::fs::read(f.path()) {
                let ctx = Context::new("bench-fixture", "fixture", Networks::default(), T0);
                out.extend(decode::decode_all(format, &bytes, &ctx).events);
            }
        }
    }
    out
}

fn pool() -> Vec<Event> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    if std::env::var("LATERAL_BENCH_MIX").as_deref() == Ok("conn") {
        return zeek_conn(&mut rng, POOL);
    }
    let mut pool = zeek_conn(&mut rng, POOL * 45 / 100);
    let templates = fixture_events();
    while pool.len() < POOL * 80 / 100 {
        pool.push(windows_event(&mut rng));
    }
    while pool.len() < POOL && !templates.is_empty() {
        let mut e = templates[rng.below(templates.len() as u64) as usize].clone();
        if e.ip(Field::SourceIp).is_some() {
            e.set(Field::SourceIp, ip(&mut rng));
        }
        if e.str(Field::UserName).is_some() {
            e.set(Field::UserName, rng.pick(USERS));
        }
        pool.push(e);
    }
    // Interleave the kinds the way merged sources would arrive.
    for i in (1..pool.len()).rev() {
        pool.swap(i, rng.below(i as u64 + 1) as usize);
    }
    pool
}

/// Event `i` of the stream: a pool event with its own id and time.
fn nth(pool: &[Event], i: u64) -> Event {
    let mut e = pool[(i % pool.len() as u64) as usize].clone();
    e.timestamp = T0 + (i as i64) * SEC * 3600 / 1_000_000;
    // 64 sources, positions increasing within each (as readers produce them).
    e.id = format!("{:016x}-{}", 0xfeed_0000_u64 + (i % 64), i / 64 * 200);
    e
}

fn rss_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of this process so far (user + system), in seconds. Other work on the machine
/// slows wall-clock rates; CPU per event does not move with it.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) end with ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5): 12 and 13 after the name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn dir_bytes(dir: &Path, ext: Option<&str>) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| ext.is_none_or(|x| e.path().extension().is_some_and(|y| y == x)))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

struct Run {
    secs_commit: f64,
    secs_total: f64,
    cpu: f64,
}

impl Run {
    fn report(&self, label: &str, n: u64) {
        println!(
            "{label}: {:>8.0} events/s to the last commit, {:>8.0} with final merges ({:.1}s); CPU {:.1} us/event = {:.0} events/s on 2 busy cores",
            n as f64 / self.secs_commit,
            n as f64 / self.secs_total,
            self.secs_total,
            self.cpu * 1e6 / n as f64,
            2.0 * n as f64 / self.cpu
        );
    }
}

fn index_run(dir: &Path, pool: &[Event], n: u64, threads: usize, dedup: Dedup) -> Run {
    let index = Index::open_or_create(dir).expect("index");
    let mut w = index
        .writer(WriterConfig {
            threads,
            dedup,
            ..WriterConfig::default()
        })
        .expect("writer");
    let t = Instant::now();
    let cpu0 = cpu_secs();
    for i in 0..n {
        w.add(nth(pool, i)).expect("add");
    }
    w.commit().expect("commit");
    let secs_commit = t.elapsed().as_secs_f64();
    let stats = w.finish().expect("finish");
    let secs_total = t.elapsed().as_secs_f64();
    assert_eq!(stats.added + stats.duplicates, n);
    Run {
        secs_commit,
        secs_total,
        cpu: cpu_secs() - cpu0,
    }
}

/// Makes one query of a shape: its text and time window.
type Shape = Box<dyn Fn(&mut Rng) -> (String, TimeRange)>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let n: u64 = std::env::var("LATERAL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 100_000 } else { 1_000_000 });
    let base = std::env::var_os("LATERAL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("lateral-index-bench")
        .tempdir_in(base)
        .expect("tempdir");
    let t = Instant::now();
    let pool = pool();
    let rss_pool = rss_kib("VmRSS:");
    println!(
        "pool: {} distinct events built in {:.1}s ({} MiB resident)",
        pool.len(),
        t.elapsed().as_secs_f64(),
        rss_pool / 1024
    );
    let avg_json: usize = pool
        .iter()
        .take(5000)
        .map(|e| serde_json::to_vec(e).map_or(0, |v| v.len()))
        .sum::<usize>()
        / 5000;
    println!("average event as JSON (with original and raw): {avg_json} bytes");
    println!("\n== indexing {n} events ==");
    println!("load average before: {}", load_average());
    // Producing the events (clone of a pool event, fresh id) is part of every run below;
    // measured alone it is what a decoder would cost instead.
    let cpu0 = cpu_secs();
    for i in 0..n.min(200_000) {
        std::hint::black_box(nth(&pool, i));
    }
    println!(
        "producing an event (the decoder's share): {:.1} us CPU",
        (cpu_secs() - cpu0) * 1e6 / n.min(200_000) as f64
    );
    let threads: Vec<usize> = match std::env::var("LATERAL_BENCH_THREADS") {
        Ok(v) => v.split(',').filter_map(|t| t.trim().parse().ok()).collect(),
        Err(_) => vec![1, 2],
    };
    let two = tmp.path().join("t2");
    for &t in &threads {
        let dir = tmp.path().join(format!("t{t}"));
        if t != 2 && dir.exists() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        index_run(&dir, &pool, n, t, Dedup::Check).report(&format!("{t} writer thread(s)"), n);
        if t != 2 {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if !two.exists() {
        index_run(&two, &pool, n, 2, Dedup::Check).report("2 writer threads", n);
    }
    println!("load average after: {}", load_average());

    let all = dir_bytes(&two, None);
    let store = dir_bytes(&two, Some("store"));
    println!(
        "on disk: {:.1} MiB = {:.0} bytes/event ({:.0} stored event, {:.0} index and columns)",
        all as f64 / (1 << 20) as f64,
        all as f64 / n as f64,
        store as f64 / n as f64,
        (all - store) as f64 / n as f64
    );
    for ext in ["idx", "term", "pos", "fast", "store"] {
        println!(
            "  .{ext:<6} {:>6.0} bytes/event",
            dir_bytes(&two, Some(ext)) as f64 / n as f64
        );
    }

    // The same events again: every one is a duplicate.
    let t = Instant::now();
    {
        let index = Index::open(&two).expect("index");
        let mut w = index.writer(WriterConfig::default()).expect("writer");
        let dup = n.min(200_000);
        for i in 0..dup {
            w.add(nth(&pool, i)).expect("add");
        }
        let stats = w.finish().expect("finish");
        assert_eq!(stats.added, 0);
        assert_eq!(stats.duplicates, dup);
        println!(
            "re-index {dup} already indexed events: {:>8.0} events/s (all skipped)",
            dup as f64 / t.elapsed().as_secs_f64()
        );
    }

    // Dedup modes on a smaller fresh stream.
    let m = n.min(300_000);
    for (name, mode) in [
        ("check (default)", Dedup::Check),
        ("replace (delete+add)", Dedup::Replace),
        ("none", Dedup::None),
    ] {
        let dir = tmp.path().join(format!("dedup-{name}"));
        let r = index_run(&dir, &pool, m, 2, mode);
        println!(
            "dedup {name:<22} {m} events: {:>8.0} events/s, CPU {:.1} us/event",
            m as f64 / r.secs_total,
            r.cpu * 1e6 / m as f64
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    println!("\n== search over {n} events (newest 100 hits, events read back) ==");
    let index = Index::open(&two).expect("index");
    let searcher = index.searcher(false).expect("searcher");
    let newest = searcher.newest().expect("newest");
    let mut rng = Rng(42);
    let shapes: Vec<(&str, Shape)> = vec![
        (
            "term",
            Box::new(|r: &mut Rng| (format!("user.name:{}", r.pick(USERS)), TimeRange::default())),
        ),
        (
            "boolean",
            Box::new(|r: &mut Rng| {
                (
                    format!(
                        "user.name:{} AND event.code:4624 AND NOT winlog.logon.type:2",
                        r.pick(USERS)
                    ),
                    TimeRange::default(),
                )
            }),
        ),
        (
            "CIDR range",
            Box::new(|r: &mut Rng| {
                (
                    format!("source.ip:10.{}.{}.0/24", 1 + r.below(4), r.below(16)),
                    TimeRange::default(),
                )
            }),
        ),
        (
            "time range + term",
            Box::new(move |r: &mut Rng| {
                let end = newest - (r.below(3600) as i64) * SEC;
                (
                    "destination.port:445".to_string(),
                    TimeRange {
                        since: Some(end - 600 * SEC),
                        until: Some(end),
                    },
                )
            }),
        ),
        (
            "phrase",
            Box::new(|r: &mut Rng| {
                let p = [
                    "\"cmd.exe /c\"",
                    "\"admin$\"",
                    "\"execution policy bypass\"",
                    "\"process call create\"",
                ][r.below(4) as usize];
                (format!("process.command_line:{p}"), TimeRange::default())
            }),
        ),
    ];
    for (name, make) in &shapes {
        let mut times = Vec::new();
        let mut hits = 0;
        for round in 0..60 {
            let (text, range) = make(&mut rng);
            let t = Instant::now();
            let q = Query::parse(&text, index.schema()).expect("query");
            let (h, total) = searcher.hits_counted(&q, range, 0, 100).expect("search");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            // The first rounds warm the page cache; keep the rest.
            if round >= 10 {
                times.push(ms);
                hits += total;
            }
            assert!(h.len() <= 100);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<18} p50 {:>7.2} ms  p99 {:>7.2} ms  (avg {:.0} matches)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            hits as f64 / times.len() as f64
        );
    }
    let t = Instant::now();
    let facet = searcher
        .facet(&Query::all(), TimeRange::default(), Field::HostName, 10)
        .expect("facet");
    println!(
        "facet host.name over all: {:.1} ms ({} distinct)",
        t.elapsed().as_secs_f64() * 1000.0,
        facet.distinct
    );
    let t = Instant::now();
    let hist = searcher
        .histogram(&Query::all(), TimeRange::default(), 60 * SEC)
        .expect("histogram");
    println!(
        "histogram 1m over all: {:.1} ms ({} buckets)",
        t.elapsed().as_secs_f64() * 1000.0,
        hist.len()
    );
    println!(
        "\npeak RSS (VmHWM): {} MiB (the event pool alone: {} MiB)",
        rss_kib("VmHWM:") / 1024,
        rss_pool / 1024
    );
}

//! Sigma throughput on EVTX input: `cargo bench --bench sigma`.
//!
//! SigmaHQ's rules cannot be fetched on the build machines and must not be copied into this
//! repository, so the rule set is **synthetic**: generated from a fixed seed in the shape of
//! SigmaHQ's Windows rules (process_creation rules with `Image|endswith` and
//! `CommandLine|contains` lists, OriginalFileName alternatives and filters; registry, network,
//! image-load and file rules; Security and System rules on event ids with field filters; a few
//! regular expressions, `windash` and `base64offset` values). It exercises the same index and
//! evaluator paths with the same selectivity problems (shared needles such as `.exe`, many rules
//! per event id), but its matches mean nothing.
//!
//! The corpus EVTX files (`$LATERAL_CORPUS`, default `../shared/corpus`) are decoded and
//! replayed `LATERAL_BENCH_REPEAT` times (default 20) with shifted timestamps through the engine
//! with the shipped rules plus the synthetic Sigma set (`LATERAL_BENCH_RULES`, default 3000).
//! Reported: rule load time, events/s of decode alone, of the engine alone and of both, per
//! second of CPU time (the EVTX parser uses worker threads), and peak RSS.

// A benchmark measures wall-clock time; the ban on the clock is for decode and correlate.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use lateral::correlate::baseline::Baseline;
use lateral::correlate::sigma::{self, LoadOptions, Mapping};
use lateral::correlate::{Engine, EngineConfig, builtin};
use lateral::event::Event;
use lateral::ingest::batch::{self, BatchOptions, Merge};

/// A small deterministic generator (64-bit LCG, high bits).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
    fn word(&mut self) -> String {
        const SYL: &[&str] = &[
            "ka", "lo", "mi", "zu", "ter", "vex", "dra", "qui", "pol", "sen", "rat", "gor", "nix",
            "bel", "tor", "fas",
        ];
        (0..2 + self.below(3)).map(|_| self.pick(SYL)).collect()
    }
}

const EXES: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "pwsh.exe",
    "rundll32.exe",
    "regsvr32.exe",
    "mshta.exe",
    "wscript.exe",
    "cscript.exe",
    "certutil.exe",
    "bitsadmin.exe",
    "wmic.exe",
    "net.exe",
    "net1.exe",
    "schtasks.exe",
    "reg.exe",
    "sc.exe",
    "msiexec.exe",
    "installutil.exe",
    "regasm.exe",
    "msbuild.exe",
    "forfiles.exe",
    "bash.exe",
    "curl.exe",
    "whoami.exe",
    "nltest.exe",
    "dsquery.exe",
    "vssadmin.exe",
    "wevtutil.exe",
    "bcdedit.exe",
    "taskkill.exe",
    "procdump.exe",
    "psexec.exe",
    "at.exe",
    "odbcconf.exe",
    "cmstp.exe",
    "control.exe",
];
const TOKENS: &[&str] = &[
    " -enc",
    " -nop",
    "hidden",
    "downloadstring",
    "iex",
    "invoke-",
    "/c ",
    "/create",
    "/delete",
    "shadowcopy",
    "http://",
    "https://",
    "\\appdata\\",
    "\\temp\\",
    "\\users\\public\\",
    "-urlcache",
    "/transfer",
    "comsvcs",
    "minidump",
    "lsass",
    "sekurlsa",
    "process call create",
    "/node:",
    "add-mppreference",
    "bypass",
    "frombase64string",
    "reflection.assembly",
    ".dll,",
    "javascript:",
    "vbscript:",
    "group \"domain admins\"",
    "/domain",
    "trusted_domains",
    "delete",
    "clear-log",
    "set-itemproperty",
    "-exclusionpath",
    "\\\\127.0.0.1\\",
    "admin$",
    "c$",
];
const PARENTS: &[&str] = &[
    "\\winword.exe",
    "\\excel.exe",
    "\\outlook.exe",
    "\\explorer.exe",
    "\\services.exe",
    "\\wmiprvse.exe",
    "\\w3wp.exe",
    "\\sqlservr.exe",
    "\\mshta.exe",
    "\\svchost.exe",
];
const REG: &[&str] = &[
    "\\CurrentVersion\\Run",
    "\\CurrentVersion\\RunOnce",
    "\\Services\\",
    "\\Image File Execution Options\\",
    "\\Policies\\Explorer\\",
    "\\Control\\Lsa\\",
    "\\Windows Defender\\",
    "\\Winlogon\\",
    "\\Environment\\",
    "\\Classes\\CLSID\\",
];

/// One synthetic rule document.
fn rule(rng: &mut Rng, n: usize) -> String {
    let mut y = format!(
        "title: Synthetic rule {n}\nid: synthetic-{n:05}\nstatus: test\nlevel: {}\ntags: [attack.t{}]\n",
        rng.pick(&["low", "medium", "high", "critical"]),
        1000 + rng.below(600)
    );
    let unique = rng.word();
    let kind = rng.below(100);
    let list = |items: Vec<String>| -> String {
        items
            .iter()
            .map(|i| format!("      - '{}'\n", i.replace('\'', "''")))
            .collect::<String>()
    };
    if kind < 55 {
        y.push_str("logsource: {product: windows, category: process_creation}\ndetection:\n");
        let imgs: Vec<String> = (0..1 + rng.below(3))
            .map(|_| format!("\\{}", rng.pick(EXES)))
            .collect();
        if rng.below(3) == 0 {
            let _ = write!(
                y,
                "  selection_img:\n    - Image|endswith:\n{}    - OriginalFileName: '{}'\n",
                list(imgs.clone()).replace("      -", "        -"),
                imgs[0].trim_start_matches('\\')
            );
        } else {
            let _ = write!(y, "  selection_img:\n    Image|endswith:\n{}", list(imgs));
        }
        let mut toks: Vec<String> = (0..1 + rng.below(3))
            .map(|_| rng.pick(TOKENS).to_string())
            .collect();
        toks.push(unique.clone());
        let modifier = match rng.below(20) {
            0 => "|windash|contains",
            1 => "|base64offset|contains",
            2..=5 => "|contains|all",
            _ => "|contains",
        };
        let _ = write!(
            y,
            "  selection_cli:\n    CommandLine{modifier}:\n{}",
            list(toks)
        );
        if rng.below(2) == 0 {
            let _ = write!(
                y,
                "  filter_main_parent:\n    ParentImage|endswith: '{}'\n",
                rng.pick(PARENTS)
            );
            y.push_str("  condition: all of selection_* and not 1 of filter_*\n");
        } else {
            y.push_str("  condition: all of selection_*\n");
        }
    } else if kind < 67 {
        y.push_str("logsource: {product: windows, category: registry_set}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    EventType: SetValue\n    TargetObject|contains: '{}\\{unique}'\n    Details|contains:\n{}  condition: selection\n",
            rng.pick(REG),
            list(vec![
                rng.pick(TOKENS).to_string(),
                format!("{}.exe", rng.word())
            ])
        );
    } else if kind < 75 {
        y.push_str("logsource: {product: windows, category: network_connection}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    Image|endswith: '\\{unique}.exe'\n    Initiated: 'true'\n    DestinationPort:\n      - {}\n      - {}\n  condition: selection\n",
            rng.pick(&["80", "443", "445", "3389", "5985", "4444"]),
            1024 + rng.below(60000)
        );
    } else if kind < 85 {
        y.push_str("logsource: {product: windows, service: security}\ndetection:\n");
        let (id, field, val) = match rng.below(6) {
            0 => ("4624", "LogonProcessName", unique.clone()),
            1 => ("4688", "NewProcessName|endswith", format!("\\{unique}.exe")),
            2 => ("5145", "RelativeTargetName|contains", unique.clone()),
            3 => ("4698", "TaskContent|contains", unique.clone()),
            4 => ("4720", "TargetUserName|startswith", unique.clone()),
            _ => ("4769", "ServiceName|endswith", format!("{unique}$")),
        };
        let _ = write!(
            y,
            "  selection:\n    EventID: {id}\n    {field}: '{val}'\n  filter:\n    SubjectUserName|endswith: '$'\n  condition: selection and not filter\n"
        );
    } else if kind < 90 {
        y.push_str("logsource: {product: windows, service: system}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    Provider_Name: 'Service Control Manager'\n    EventID: 7045\n    ImagePath|contains:\n{}  condition: selection\n",
            list(vec![
                unique.clone(),
                format!("{}\\{}", rng.pick(TOKENS), rng.word())
            ])
        );
    } else if kind < 95 {
        y.push_str("logsource: {product: windows, category: image_load}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    ImageLoaded|endswith: '\\{unique}.dll'\n    Image|endswith: '\\{}'\n  condition: selection\n",
            rng.pick(EXES)
        );
    } else if kind < 98 {
        y.push_str("logsource: {product: windows, category: file_event}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    TargetFilename|contains: '\\{unique}\\'\n    TargetFilename|endswith:\n      - '.ps1'\n      - '.dll'\n  condition: selection\n"
        );
    } else {
        y.push_str("logsource: {product: windows, category: process_creation}\ndetection:\n");
        let _ = write!(
            y,
            "  selection:\n    CommandLine|re: '(?i){unique}[0-9]{{2,4}}\\.(exe|dll)'\n  condition: selection\n"
        );
    }
    y
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

/// CPU seconds (user + system) of this process so far.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let corpus = std::env::var_os("LATERAL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let mut files = Vec::new();
    let mut stack = vec![corpus.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        eprintln!(
            "no EVTX files under {} (set LATERAL_CORPUS)",
            corpus.display()
        );
        return;
    }
    let n_rules = env_or("LATERAL_BENCH_RULES", 3000);
    let repeat = env_or("LATERAL_BENCH_REPEAT", 20);

    let mut rng = Rng(0x5eed_1a7e_ca11);
    let text: String = (0..n_rules)
        .map(|i| rule(&mut rng, i))
        .collect::<Vec<_>>()
        .join("---\n");
    let t = Instant::now();
    let set = sigma::load(
        &[("synthetic.yml".to_string(), text.clone())],
        &Mapping::builtin().unwrap(),
        &LoadOptions::default(),
    );
    let load_time = t.elapsed();
    let errors = set.errors();
    assert!(
        errors.is_empty(),
        "synthetic rules invalid: {:?}",
        &errors[..errors.len().min(3)]
    );
    println!(
        "synthetic Sigma rules: {} loaded in {:.2} s ({} documents)",
        set.rules.len(),
        load_time.as_secs_f64(),
        set.listed.len()
    );

    // The index and evaluator alone, on the same rules (a second load: the engine owns one).
    let mut matcher = sigma::load(
        &[("synthetic.yml".to_string(), text.clone())],
        &Mapping::builtin().unwrap(),
        &LoadOptions::default(),
    );
    let (rules, _) = builtin::rules();
    let mut engine =
        Engine::new(rules, EngineConfig::default(), Baseline::default()).with_sigma(set);
    let mut bare = Engine::new(Vec::new(), EngineConfig::default(), Baseline::default());
    let mut bare_secs = 0.0;
    let mut shipped_only = {
        let (rules, _) = builtin::rules();
        Engine::new(rules, EngineConfig::default(), Baseline::default())
    };

    let mut decode_secs = 0.0;
    let mut decode_cpu = 0.0;
    let mut engine_secs = 0.0;
    let mut shipped_secs = 0.0;
    let mut match_secs = 0.0;
    let mut naive_secs = 0.0;
    let mut naive_events = 0u64;
    let mut sigma_hits = 0u64;
    let mut events = 0u64;
    let mut matched_before = 0u64;
    for rep in 0..repeat {
        let (c0, t0) = (cpu_secs(), Instant::now());
        let (readers, _) = batch::open_paths(&files, &BatchOptions::default());
        let decoded: Vec<Event> = Merge::new(readers).collect();
        decode_secs += t0.elapsed().as_secs_f64();
        decode_cpu += cpu_secs() - c0;
        // Each pass a year later, with fresh ids: the engine sees new events, not duplicates.
        let shift = rep as i64 * 366 * 86_400 * 1_000_000_000;
        let batch: Vec<Event> = decoded
            .into_iter()
            .map(|mut e| {
                e.timestamp += shift;
                e.id = format!("{}#{rep}", e.id);
                e
            })
            .collect();
        let t1 = Instant::now();
        for e in &batch {
            engine.observe(e);
        }
        engine_secs += t1.elapsed().as_secs_f64();
        let t2 = Instant::now();
        for e in &batch {
            shipped_only.observe(e);
        }
        shipped_secs += t2.elapsed().as_secs_f64();
        let t4 = Instant::now();
        for e in &batch {
            bare.observe(e);
        }
        bare_secs += t4.elapsed().as_secs_f64();
        let t3 = Instant::now();
        for e in &batch {
            if let Some(o) = matcher.observe(e) {
                sigma_hits += o.hits.len() as u64;
            }
        }
        match_secs += t3.elapsed().as_secs_f64();
        if rep < 2 {
            // For comparison, without the index: every rule of the event's log source.
            let t5 = Instant::now();
            let mut n = 0u64;
            for e in &batch {
                for i in 0..matcher.rules.len() {
                    if let Some(v) = matcher.variant_for(i, e)
                        && v.detection.matches(e)
                    {
                        n += 1;
                    }
                }
            }
            naive_secs += t5.elapsed().as_secs_f64();
            naive_events += batch.len() as u64;
            assert!(n > 0);
        }
        events += batch.len() as u64;
        if rep == 0 {
            matched_before = engine.stats().matched;
        }
    }
    engine.advance(i64::MAX);
    let stats = engine.stats();
    let rate = |secs: f64| events as f64 / secs.max(1e-9);
    println!(
        "{} EVTX files x {repeat} passes = {events} events ({} matched per pass)",
        files.len(),
        matched_before
    );
    println!(
        "decode:                      {:>9.0} events/s wall, {:>9.0} events/s per CPU second",
        rate(decode_secs),
        rate(decode_cpu)
    );
    println!(
        "Sigma index + evaluation:    {:>9.0} events/s ({} rule matches)",
        rate(match_secs),
        sigma_hits
    );
    println!(
        "Sigma without the index:     {:>9.0} events/s (every rule of the log source)",
        naive_events as f64 / naive_secs.max(1e-9)
    );
    println!(
        "engine, no rules:            {:>9.0} events/s",
        rate(bare_secs)
    );
    println!(
        "engine, shipped rules:       {:>9.0} events/s",
        rate(shipped_secs)
    );
    println!(
        "engine, + {:>5} Sigma rules: {:>9.0} events/s",
        n_rules,
        rate(engine_secs)
    );
    println!(
        "decode + engine with Sigma:  {:>9.0} events/s per core (decode CPU + engine)",
        rate(decode_cpu + engine_secs)
    );
    println!(
        "sessions {}, peak RSS {} MiB",
        stats.sessions,
        rss_kib("VmHWM:") / 1024
    );
}

//! Sigma detection conformance: the specification's detection semantics (maps, lists,
//! keywords, wildcards and escapes, null and empty values, conditions) and every modifier,
//! through our own SigmaHQ-style rules in `tests/fixtures-sigma/modifiers/`, evaluated the way
//! `lateral hunt --sigma` does (log-source routing, field mapping, rule index).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use lateral::correlate::detection::base64;
use lateral::correlate::sigma::{self, LoadOptions, Mapping, Ruleset, State};
use lateral::event::{Event, Field};

const FIXTURE: &str = include_str!("fixtures-sigma/modifiers/modifiers.yml");

fn load(text: &str) -> Ruleset {
    let mut opts = LoadOptions::default();
    opts.placeholders.insert(
        "Administrators".into(),
        vec!["CORP\\adm-*".into(), "CORP\\Administrator".into()],
    );
    sigma::load(
        &[("modifiers.yml".to_string(), text.to_string())],
        &Mapping::builtin().unwrap(),
        &opts,
    )
}

/// A Windows event of `dataset` with event id `code` and these EventData fields.
fn win(dataset: &str, code: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new(1_717_200_000_000_000_000);
    e.id = format!(
        "w-{code}-{}",
        lateral::event::fnv1a(format!("{fields:?}").as_bytes())
    );
    e.set(Field::EventModule, "windows");
    e.set(Field::EventDataset, dataset);
    e.set(Field::EventCode, code);
    e.original.push(("EventID".into(), serde_json::json!(code)));
    for (k, v) in fields {
        let j = match v.parse::<i64>() {
            Ok(n) => serde_json::json!(n),
            Err(_) => serde_json::json!(v),
        };
        e.original.push(((*k).to_string(), j));
    }
    e
}

fn proc(fields: &[(&str, &str)]) -> Event {
    win("windows.sysmon", 1, fields)
}

fn hit_ids(set: &mut Ruleset, ev: &Event) -> Vec<String> {
    let obs = set.observe(ev).unwrap_or_default();
    obs.hits
        .iter()
        .map(|h| set.rules[h.rule].meta.id.clone())
        .collect()
}

fn hit(set: &mut Ruleset, id: &str, ev: &Event) -> bool {
    hit_ids(set, ev).iter().any(|h| h == id)
}

#[test]
fn every_fixture_rule_loads() {
    let set = load(FIXTURE);
    for l in &set.listed {
        assert!(
            matches!(l.state, State::Loaded(_)),
            "{} {}: {:?}",
            l.id,
            l.title,
            l.state
        );
    }
    assert_eq!(set.rules.len(), 24);
}

#[test]
fn string_modifiers() {
    let mut s = load(FIXTURE);
    assert!(hit(
        &mut s,
        "mod-contains",
        &proc(&[("CommandLine", "mimikatz SEKURLSA::logonpasswords")])
    ));
    assert!(!hit(
        &mut s,
        "mod-contains",
        &proc(&[("CommandLine", "sekurlsa")])
    ));
    let r = |img: &str, cmd: &str| proc(&[("Image", img), ("CommandLine", cmd)]);
    assert!(hit(
        &mut s,
        "mod-starts-ends",
        &r(
            "C:\\Windows\\System32\\RUNDLL32.EXE",
            "rundll32 x.dll,Entry"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-starts-ends",
        &r(
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\x\\rundll32 x.dll"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-starts-ends",
        &r("C:\\rundll32.exe.bak", "rundll32 x")
    ));
    assert!(hit(
        &mut s,
        "mod-all",
        &proc(&[("CommandLine", "powershell -w hidden -enc AAAA")])
    ));
    assert!(!hit(
        &mut s,
        "mod-all",
        &proc(&[("CommandLine", "powershell -w hidden")])
    ));
    assert!(hit(
        &mut s,
        "mod-cased",
        &proc(&[("CommandLine", "privilege::SeDebugPrivilege")])
    ));
    assert!(!hit(
        &mut s,
        "mod-cased",
        &proc(&[("CommandLine", "privilege::sedebugprivilege")])
    ));
}

#[test]
fn windash_permutes_option_dashes() {
    let mut s = load(FIXTURE);
    for cmd in [
        "net user -user x",
        "net user /user x",
        "net user \u{2013}user x",
        "net user \u{2014}user x",
        "net user \u{2015}user x",
    ] {
        let e = proc(&[
            ("Image", "C:\\Windows\\System32\\net.exe"),
            ("CommandLine", cmd),
        ]);
        assert!(hit(&mut s, "mod-windash", &e), "{cmd}");
    }
    let e = proc(&[
        ("Image", "C:\\Windows\\System32\\net.exe"),
        ("CommandLine", "net user x-user"),
    ]);
    assert!(!hit(&mut s, "mod-windash", &e));
}

#[test]
fn encodings() {
    let mut s = load(FIXTURE);
    let b = base64(b"IEX (New-Object Net.WebClient)");
    assert!(hit(
        &mut s,
        "mod-base64",
        &proc(&[("CommandLine", &format!("powershell -e {b}"))])
    ));
    for prefix in ["", "a", "ab", "abc"] {
        let enc = base64(format!("{prefix}Invoke-Mimikatz -DumpCreds").as_bytes());
        assert!(
            hit(&mut s, "mod-base64offset", &proc(&[("CommandLine", &enc)])),
            "offset {prefix:?}"
        );
    }
    assert!(!hit(
        &mut s,
        "mod-base64offset",
        &proc(&[("CommandLine", &base64(b"Invoke-Something"))])
    ));
    // -EncodedCommand carries UTF-16LE.
    for prefix in ["", "x", "xy"] {
        let text = format!("{prefix}(New-Object Net.WebClient).DownloadString('http://x')");
        let wide: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let e = proc(&[("CommandLine", &format!("powershell -enc {}", base64(&wide)))]);
        assert!(hit(&mut s, "mod-wide-base64offset", &e), "{prefix:?}");
    }
    let be: Vec<u8> = "ab".encode_utf16().flat_map(u16::to_be_bytes).collect();
    assert!(hit(
        &mut s,
        "mod-utf16",
        &proc(&[("CommandLine", &base64(&be))])
    ));
    let mut bom = vec![0xff, 0xfe];
    bom.extend("ab".encode_utf16().flat_map(u16::to_le_bytes));
    assert!(hit(
        &mut s,
        "mod-utf16",
        &proc(&[("CommandLine", &base64(&bom))])
    ));
}

#[test]
fn cidr_numbers_and_time() {
    let mut s = load(FIXTURE);
    let net = |dst: &str, port: &str| {
        win(
            "windows.sysmon",
            3,
            &[
                ("DestinationIp", dst),
                ("DestinationPort", port),
                ("SourcePort", "50000"),
            ],
        )
    };
    assert!(hit(&mut s, "mod-cidr", &net("10.1.2.3", "445")));
    assert!(hit(&mut s, "mod-cidr", &net("fd00::5", "445")));
    assert!(!hit(&mut s, "mod-cidr", &net("11.1.2.3", "445")));
    assert!(!hit(&mut s, "mod-cidr", &net("10.1.2.3", "139")));
    assert!(hit(&mut s, "mod-numbers", &net("10.1.2.3", "5986")));
    assert!(!hit(&mut s, "mod-numbers", &net("10.1.2.3", "5987")));
    let at = |t: &str| proc(&[("UtcTime", t)]);
    assert!(hit(&mut s, "mod-time", &at("2024-06-10 23:05:00.000")));
    assert!(!hit(&mut s, "mod-time", &at("2024-06-10 21:05:00.000")));
    assert!(!hit(&mut s, "mod-time", &at("2024-06-20 23:05:00.000")));
    assert!(!hit(&mut s, "mod-time", &at("2023-06-10 23:05:00.000")));
}

#[test]
fn regular_expressions_with_flags() {
    let mut s = load(FIXTURE);
    let c = |cmd: &str| proc(&[("CommandLine", cmd)]);
    assert!(hit(&mut s, "mod-re", &c("copy x \\\\10.0.0.5\\C$\\x")));
    assert!(!hit(&mut s, "mod-re", &c("copy x \\\\10.0.0.5\\c$\\x")));
    assert!(hit(
        &mut s,
        "mod-re",
        &proc(&[("Image", "C:\\PSEXESVC.EXE")])
    ));
    assert!(hit(&mut s, "mod-re", &c("echo 1\nwhoami\necho 2")));
    assert!(!hit(&mut s, "mod-re", &c("echo 1 whoami echo 2")));
    assert!(hit(&mut s, "mod-re", &c("begin\nend")));
}

#[test]
fn exists_fieldref_expand_neq_null() {
    let mut s = load(FIXTURE);
    assert!(hit(
        &mut s,
        "mod-exists",
        &proc(&[("Image", "C:\\calc.exe")])
    ));
    // Present counts even when empty (the specification checks presence, not value).
    assert!(!hit(
        &mut s,
        "mod-exists",
        &proc(&[("Image", "C:\\calc.exe"), ("OriginalFileName", "")])
    ));
    assert!(hit(
        &mut s,
        "mod-fieldref",
        &proc(&[("Image", "C:\\a.exe"), ("ParentImage", "c:\\A.EXE")])
    ));
    assert!(!hit(
        &mut s,
        "mod-fieldref",
        &proc(&[("Image", "C:\\a.exe"), ("ParentImage", "C:\\b.exe")])
    ));
    assert!(hit(
        &mut s,
        "mod-expand",
        &proc(&[("User", "corp\\ADM-jdoe")])
    ));
    assert!(hit(
        &mut s,
        "mod-expand",
        &proc(&[("User", "CORP\\Administrator")])
    ));
    assert!(!hit(&mut s, "mod-expand", &proc(&[("User", "CORP\\jdoe")])));
    let svc = |parent: &str| {
        proc(&[
            ("Image", "C:\\Windows\\System32\\svchost.exe"),
            ("ParentImage", parent),
        ])
    };
    assert!(hit(&mut s, "mod-neq", &svc("C:\\Users\\x\\evil.exe")));
    assert!(!hit(
        &mut s,
        "mod-neq",
        &svc("C:\\Windows\\System32\\services.exe")
    ));
    let np = |fields: &[(&str, &str)]| {
        let mut f = vec![("Image", "C:\\Windows\\notepad.exe")];
        f.extend_from_slice(fields);
        proc(&f)
    };
    assert!(hit(&mut s, "mod-null-empty", &np(&[("CommandLine", "")])));
    assert!(!hit(
        &mut s,
        "mod-null-empty",
        &np(&[("CommandLine", "notepad x.txt")])
    ));
    assert!(!hit(
        &mut s,
        "mod-null-empty",
        &np(&[("CommandLine", ""), ("ParentCommandLine", "explorer.exe")])
    ));
}

#[test]
fn wildcards_escapes_keywords_and_conditions() {
    let mut s = load(FIXTURE);
    let w = |img: &str, cmd: &str| proc(&[("Image", img), ("CommandLine", cmd)]);
    assert!(hit(
        &mut s,
        "mod-wildcards",
        &w(
            "C:\\Users\\bob\\AppData\\Local\\update.exe",
            "x literal*star y"
        )
    ));
    assert!(hit(
        &mut s,
        "mod-wildcards",
        &w(
            "c:\\users\\bob\\appdata\\roaming\\x\\UPDATE.exe",
            "literal*star"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-wildcards",
        &w(
            "C:\\Users\\bob\\AppData\\Local\\updaate.exe",
            "literal*star"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-wildcards",
        &w("C:\\Users\\bob\\AppData\\Local\\update.exe", "literalXstar")
    ));
    let sys = |msg: &str| {
        let mut e = win("windows.system", 7045, &[("ServiceName", msg)]);
        e.original.push((
            "Provider_Name".into(),
            serde_json::json!("Service Control Manager"),
        ));
        e
    };
    assert!(hit(&mut s, "mod-keywords", &sys("mimidrv")));
    assert!(!hit(&mut s, "mod-keywords", &sys("spooler")));
    let wmic = |img: &str, cmd: &str, user: &str| {
        proc(&[("Image", img), ("CommandLine", cmd), ("User", user)])
    };
    assert!(hit(
        &mut s,
        "mod-conditions",
        &wmic(
            "C:\\x\\WMIC.exe",
            "wmic /node:srv1 process call create",
            "CORP\\bob"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-conditions",
        &wmic(
            "C:\\x\\WMIC.exe",
            "wmic /node:localhost process",
            "CORP\\bob"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-conditions",
        &wmic(
            "C:\\x\\WMIC.exe",
            "wmic /node:srv1 process",
            "CORP\\svc-inventory"
        )
    ));
    assert!(!hit(
        &mut s,
        "mod-conditions",
        &wmic("C:\\x\\cmd.exe", "wmic /node:srv1", "CORP\\bob")
    ));
}

#[test]
fn filter_documents_exclude_matches() {
    let mut s = load(FIXTURE);
    let t = |parent: &str| {
        proc(&[
            ("Image", "C:\\Windows\\System32\\schtasks.exe"),
            ("CommandLine", "schtasks /create /tn x"),
            ("ParentImage", parent),
        ])
    };
    assert!(hit(
        &mut s,
        "mod-filter-target",
        &t("C:\\Windows\\explorer.exe")
    ));
    assert!(!hit(
        &mut s,
        "mod-filter-target",
        &t("C:\\Program Files\\Backup\\BackupAgent.exe")
    ));
}

#[test]
fn mapped_fields_on_other_sources() {
    let mut s = load(FIXTURE);
    let mut e = Event::new(1);
    e.id = "a-1".into();
    e.set(Field::EventModule, "auditd");
    e.set(Field::EventDataset, "auditd.log");
    e.set(Field::EventAction, "process-started");
    e.set(Field::ProcessExecutable, "/usr/bin/ssh");
    e.set(Field::ProcessCommandLine, "ssh -i key.pem backup@10.0.0.9");
    e.set(Field::UserName, "alice");
    assert!(hit(&mut s, "mod-linux-mapped", &e));
    e.set(Field::EventAction, "connect");
    assert!(!hit(&mut s, "mod-linux-mapped", &e), "only process events");
    let mut z = Event::new(1);
    z.id = "z-1".into();
    z.set(Field::EventModule, "zeek");
    z.set(Field::EventDataset, "zeek.smb_mapping");
    z.original
        .push(("path".into(), serde_json::json!("\\\\DC01\\ADMIN$")));
    z.original
        .push(("id.resp_p".into(), serde_json::json!(445)));
    assert!(hit(&mut s, "mod-zeek", &z));
    // The same Sysmon rule reads Security 4688 through its own field names.
    let mut sec = win(
        "windows.security",
        4688,
        &[
            ("NewProcessName", "C:\\Windows\\System32\\rundll32.exe"),
            ("CommandLine", "rundll32 a.dll,b"),
        ],
    );
    assert!(hit(&mut s, "mod-starts-ends", &sec));
    sec.set(Field::EventCode, 4689i64);
    assert!(
        !hit(&mut s, "mod-starts-ends", &sec),
        "routed by event code"
    );
}

/// The specification's detection examples, in our own words: lists are OR, maps are AND, `1 of`
/// and `all of` with patterns, `them` leaves out `_` searches, `not` binds tighter than `and`.
#[test]
fn condition_grammar() {
    let rule = |cond: &str| {
        format!(
            "title: t\nid: c\nlogsource: {{product: windows, service: security}}\ndetection:\n  sel_a: {{EventID: 4624, LogonType: 3}}\n  sel_b:\n    - TargetUserName: admin\n    - TargetUserName: root\n  _hidden: {{EventID: 1}}\n  filter: {{IpAddress: '127.0.0.1'}}\n  condition: {cond}\nlevel: low\n"
        )
    };
    let ev = |user: &str, ip: &str| {
        win(
            "windows.security",
            4624,
            &[
                ("LogonType", "3"),
                ("TargetUserName", user),
                ("IpAddress", ip),
            ],
        )
    };
    let cases: &[(&str, &str, &str, bool)] = &[
        ("sel_a and sel_b", "root", "10.0.0.1", true),
        ("sel_a and sel_b", "bob", "10.0.0.1", false),
        ("all of sel_*", "admin", "10.0.0.1", true),
        ("1 of sel_* and not filter", "bob", "127.0.0.1", false),
        ("1 of sel_* and not filter", "bob", "10.0.0.1", true),
        ("all of them", "admin", "127.0.0.1", true),
        ("all of them", "admin", "10.0.0.1", false),
        ("not filter and sel_b or sel_a", "bob", "127.0.0.1", true),
        (
            "not (filter or sel_b) and sel_a",
            "admin",
            "10.0.0.1",
            false,
        ),
    ];
    for (cond, user, ip, want) in cases {
        let mut s = load(&rule(cond));
        assert_eq!(
            hit(&mut s, "c", &ev(user, ip)),
            *want,
            "{cond} on {user}/{ip}"
        );
    }
}

#[test]
fn explain_says_which_search_failed() {
    let s = load(FIXTURE);
    let i = s
        .rules
        .iter()
        .position(|r| r.meta.id == "mod-starts-ends")
        .unwrap();
    let e = proc(&[
        ("Image", "C:\\Windows\\System32\\cmd.exe"),
        ("CommandLine", "rundll32 x"),
    ]);
    let v = s.variant_for(i, &e).unwrap();
    let report = v.detection.explain(&e);
    assert!(!report[0].matched);
    assert!(report[0].detail[0].contains("Image|endswith"), "{report:?}");
    assert!(report[0].detail[0].contains("cmd.exe"), "{report:?}");
}

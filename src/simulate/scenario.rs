//! The sample day of `samples/`: Tuesday 2024-10-08, 08:00–12:00 UTC, at a company with an
//! EKS cluster in AWS (Cilium in ENI mode, Hubble, Tetragon, Falco, VPC flow logs), an Active
//! Directory domain watched by winlogbeat and two Zeek sensors, and Linux servers with sshd
//! and auditd. Three intrusions are planted in a day of ordinary work; `samples/README.md`
//! tells the stories and lists what `lateral hunt` must report.
//!
//! The previous day's flows (Hubble, VPC, Zeek conn, Sysmon network events) are written to
//! `samples/baseline/`: every benign pair of the sample day occurs there, so a hunt that
//! learns it first (`--baseline samples/baseline`) reports exactly the intruder's new
//! destinations.
//!
//! Generation is deterministic (a fixed seed) and the output is committed; the
//! `samples_are_current` test regenerates it and compares bytes, so this file and
//! `samples/` never drift apart. Regenerate with `lateral simulate --samples --out samples`.

use super::act::{Account, Ep, LinuxHost, MS, Node, SEC, Sensor, Sim, Tcp, logon_id};
use super::format::{
    Channel, KprobeArg, Pod, PodSpec, WinHost, ZeekLog, ZeekRec, Zv, reserved_endpoint,
};
use super::{Record, render};
use crate::event::Nanos;

/// 2024-10-08T00:00:00Z, the sample day.
pub const DAY: Nanos = 1_728_345_600 * SEC;
/// 2024-10-07T00:00:00Z, the baseline day.
pub const BASELINE_DAY: Nanos = DAY - 86_400 * SEC;
const MIN: Nanos = 60 * SEC;
const HOUR: Nanos = 60 * MIN;

/// `day` + hh:mm:ss.mmm.
fn at(day: Nanos, h: i64, m: i64, s: i64, ms: i64) -> Nanos {
    day + h * HOUR + m * MIN + s * SEC + ms * MS
}

/// The environment: every machine, pod and account of the sample company.
struct Env {
    n1: Node,
    n2: Node,
    ndb: Node,
    frontend: Pod,
    frontend2: Pod,
    cart: Pod,
    catalog: Pod,
    catalog_new: Pod,
    checkout: Pod,
    payments: Pod,
    postgres: Pod,
    redis: Pod,
    coredns: Pod,
    prometheus: Pod,
    world: String,
    remote_node: String,
    host_ep: String,
    apiserver: String,
    /// Nodes' sshd, as Linux hosts.
    n1_host: LinuxHost,
    n2_host: LinuxHost,
    ndb_host: LinuxHost,
    bastion: LinuxHost,
    app: [LinuxHost; 3],
    build7: LinuxHost,
    dc01: WinHost,
    fs01: WinHost,
    ws: [WinHost; 3],
    adm01: WinHost,
    core: Sensor,
    dcseg: Sensor,
}

const REGION: &str = "eu-west-1";
const CLUSTER: &str = "prod-eu1";
const DOMAIN: &str = "corp.example.com";
const SID: &str = "S-1-5-21-3457937927-2839227994-823803824";

#[allow(clippy::too_many_arguments)] // a pod is that many facts; a struct would only rename them
fn pod(
    ns: &str,
    name: &str,
    workload: &str,
    kind: &str,
    ip: &str,
    node: &Node,
    image: &str,
    ids: (u32, u32),
) -> Pod {
    // Ids derived from the name, so they stay put when pods are added.
    let h = crate::event::fnv1a(name.as_bytes());
    let cid = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        h,
        h.rotate_left(13),
        h.rotate_left(29),
        h.rotate_left(41)
    );
    let g = crate::event::fnv1a(image.as_bytes());
    let digest = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        g,
        g.rotate_left(7),
        g.rotate_left(19),
        g.rotate_left(37)
    );
    Pod::new(&PodSpec {
        cluster: CLUSTER,
        namespace: ns,
        name,
        workload,
        workload_kind: kind,
        ip,
        node: &node.name,
        image,
        endpoint_id: ids.0,
        identity: ids.1,
        container_id: &cid,
        image_digest: &digest,
        started: "2024-10-06T21:14:09Z",
    })
}

fn linux(name: &str, ip: &str, dir: &str) -> LinuxHost {
    LinuxHost {
        name: name.into(),
        ip: ip.into(),
        dir: dir.into(),
    }
}

impl Env {
    fn new() -> Env {
        let n1 = Node::new(CLUSTER, "10.20.3.41", REGION);
        let n2 = Node::new(CLUSTER, "10.20.4.17", REGION);
        let ndb = Node::new(CLUSTER, "10.20.12.7", REGION);
        let reg = "412093335051.dkr.ecr.eu-west-1.amazonaws.com";
        let img = |r: &str| format!("{reg}/{r}");
        let node_host = |n: &Node| linux(&n.short, &n.ip, &format!("k8s/nodes/{}", n.short));
        Env {
            frontend: pod(
                "shop",
                "frontend-6d8f9b7c4d-k2x9p",
                "frontend",
                "Deployment",
                "10.20.3.118",
                &n1,
                &img("shop/frontend:2.14.1"),
                (1843, 48211),
            ),
            frontend2: pod(
                "shop",
                "frontend-6d8f9b7c4d-7wq5m",
                "frontend",
                "Deployment",
                "10.20.4.66",
                &n2,
                &img("shop/frontend:2.14.1"),
                (2210, 48211),
            ),
            cart: pod(
                "shop",
                "cart-5c8d9f7b6-q2wzp",
                "cart",
                "Deployment",
                "10.20.3.77",
                &n1,
                &img("shop/cart:3.8.2"),
                (1377, 30992),
            ),
            catalog: pod(
                "shop",
                "catalog-7b9c5d6f8-m4n7r",
                "catalog",
                "Deployment",
                "10.20.4.52",
                &n2,
                &img("shop/catalog:1.21.0"),
                (2035, 17766),
            ),
            catalog_new: pod(
                "shop",
                "catalog-84f6c7d9b5-x8t2v",
                "catalog",
                "Deployment",
                "10.20.4.91",
                &n2,
                &img("shop/catalog:1.21.1"),
                (2391, 17766),
            ),
            checkout: pod(
                "shop",
                "checkout-59d7c8b6f4-h5j2k",
                "checkout",
                "Deployment",
                "10.20.3.102",
                &n1,
                &img("shop/checkout:4.2.0"),
                (1502, 52877),
            ),
            payments: pod(
                "payments",
                "payments-api-6b8d5f9c7-r9m3t",
                "payments-api",
                "Deployment",
                "10.20.4.120",
                &n2,
                &img("payments/api:7.0.3"),
                (2154, 40012),
            ),
            postgres: pod(
                "db",
                "postgres-0",
                "postgres",
                "StatefulSet",
                "10.20.12.40",
                &ndb,
                "docker.io/bitnami/postgresql:16.4.0",
                (3101, 60345),
            ),
            redis: pod(
                "shop",
                "redis-0",
                "redis",
                "StatefulSet",
                "10.20.12.55",
                &ndb,
                "docker.io/bitnami/redis:7.4.1",
                (3155, 21870),
            ),
            coredns: pod(
                "kube-system",
                "coredns-6d4b75cb6d-4xk2j",
                "coredns",
                "Deployment",
                "10.20.4.9",
                &n2,
                "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.3-eksbuild.1",
                (120, 17804),
            ),
            prometheus: pod(
                "monitoring",
                "prometheus-k8s-0",
                "prometheus-k8s",
                "StatefulSet",
                "10.20.4.200",
                &n2,
                "quay.io/prometheus/prometheus:v2.54.1",
                (2460, 9311),
            ),
            world: reserved_endpoint("world"),
            remote_node: reserved_endpoint("remote-node"),
            host_ep: reserved_endpoint("host"),
            apiserver: reserved_endpoint("kube-apiserver"),
            n1_host: node_host(&n1),
            n2_host: node_host(&n2),
            ndb_host: node_host(&ndb),
            bastion: linux("bastion", "10.20.0.5", "linux/bastion"),
            app: [
                linux("app-1", "10.30.1.11", "linux/app-1"),
                linux("app-2", "10.30.1.12", "linux/app-2"),
                linux("app-3", "10.30.1.13", "linux/app-3"),
            ],
            build7: linux("build-7", "10.30.2.7", "linux/build-7"),
            dc01: WinHost::new(
                "DC01",
                DOMAIN,
                "10.1.1.10",
                "Windows Server 2022 Standard",
                "3f2a8c1e-6d4b-4e0a-9b7c-51d2e8f4a601",
            ),
            fs01: WinHost::new(
                "FS01",
                DOMAIN,
                "10.1.1.20",
                "Windows Server 2022 Standard",
                "7c9e2b4d-1a3f-4c8e-b6d0-92f1a5e7c302",
            ),
            ws: [
                WinHost::new(
                    "WS01",
                    DOMAIN,
                    "10.1.20.31",
                    "Windows 11 Enterprise",
                    "a4e1c7b2-9d3f-4a6e-8c5b-0f2d7e9a1403",
                ),
                WinHost::new(
                    "WS02",
                    DOMAIN,
                    "10.1.20.32",
                    "Windows 11 Enterprise",
                    "d8b3f1a6-2c7e-4b9d-a0e5-63c4f8b2d504",
                ),
                WinHost::new(
                    "WS03",
                    DOMAIN,
                    "10.1.20.33",
                    "Windows 11 Enterprise",
                    "e2c6a9d4-7b1f-4e3a-9d8c-14b7e0f5a605",
                ),
            ],
            adm01: WinHost::new(
                "ADM01",
                DOMAIN,
                "10.1.20.5",
                "Windows 11 Enterprise",
                "b7f4d2e9-3a6c-4d1b-8e7f-25a9c3d6e706",
            ),
            core: Sensor {
                name: "corp-core".into(),
                json: false,
            },
            dcseg: Sensor {
                name: "dc-segment".into(),
                json: true,
            },
            n1,
            n2,
            ndb,
        }
    }

    fn node_of(&self, p: &Pod) -> &Node {
        [&self.n1, &self.n2, &self.ndb]
            .into_iter()
            .find(|n| n.name == p.node)
            .unwrap_or(&self.n1)
    }
}

struct User {
    name: &'static str,
    rid: u32,
    ws: usize,
    logon: u64,
}

const USERS: [User; 3] = [
    User {
        name: "jdoe",
        rid: 1104,
        ws: 0,
        logon: 0x2a7f31,
    },
    User {
        name: "asmith",
        rid: 1105,
        ws: 1,
        logon: 0x31c4e8,
    },
    User {
        name: "mlee",
        rid: 1106,
        ws: 2,
        logon: 0x2f9a02,
    },
];

fn sid(rid: u32) -> String {
    format!("{SID}-{rid}")
}

/// The sample day and the baseline day, as (relative path, content), sorted by path.
pub fn samples() -> Vec<(String, String)> {
    let env = Env::new();
    let mut out = day_files(&env, DAY, true, "");
    out.extend(day_files(&env, BASELINE_DAY, false, "baseline/"));
    out.sort();
    out
}

/// One day's files: the benign background (flows only on the baseline day) and, on the
/// sample day, the three intrusions.
fn day_files(env: &Env, day: Nanos, sample_day: bool, prefix: &str) -> Vec<(String, String)> {
    let vpc_file = format!(
        "412093335051_vpcflowlogs_eu-west-1_fl-0c5a7e19d3b2f4a68_{}0800Z_6f2b9e14.log",
        if sample_day { "20241008T" } else { "20241007T" }
    );
    let mut sim = Sim::new(
        if sample_day { 20_241_008 } else { 20_241_007 },
        "412093335051",
        &vpc_file,
    );
    let flows_only = !sample_day;
    k8s_background(&mut sim, env, day, flows_only);
    windows_background(&mut sim, env, day, flows_only);
    if !flows_only {
        linux_background(&mut sim, env, day);
    }
    if sample_day {
        k8s_intrusion(&mut sim, env, day);
        windows_intrusion(&mut sim, env, day);
        linux_intrusion(&mut sim, env, day);
    }
    let mut records: Vec<Record> = sim.take();
    records.sort();
    let open = at(day, 8, 0, 0, 0);
    let close = at(day, 12, 0, 0, 0);
    render(&sim.files, &records, open, close)
        .into_iter()
        .map(|(p, c)| (format!("{prefix}{p}"), c))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Kubernetes background

/// (client, server, port, period in seconds) of the shop's service calls. Connections are
/// pooled, so a new TCP connection per pair every few minutes is what Hubble sees.
fn service_pairs(env: &Env) -> Vec<(&Pod, &Pod, u16, i64)> {
    vec![
        (&env.frontend, &env.cart, 8080, 840),
        (&env.frontend, &env.catalog, 8080, 720),
        (&env.frontend, &env.checkout, 8080, 1200),
        (&env.frontend2, &env.cart, 8080, 840),
        (&env.frontend2, &env.catalog, 8080, 760),
        (&env.frontend2, &env.checkout, 8080, 1280),
        (&env.cart, &env.redis, 6379, 1800),
        (&env.checkout, &env.payments, 8443, 1080),
        (&env.checkout, &env.cart, 8080, 1400),
        (&env.payments, &env.postgres, 5432, 1200),
        (&env.catalog, &env.postgres, 5432, 1320),
    ]
}

fn k8s_background(sim: &mut Sim, env: &Env, day: Nanos, flows_only: bool) {
    let start = at(day, 8, 0, 0, 0);
    let end = at(day, 12, 0, 0, 0);
    // The catalog rollout at 10:30: the new ReplicaSet's pod takes over.
    let rollout = at(day, 10, 30, 12, 0);
    let catalog_at = |t: Nanos| {
        if t < rollout {
            &env.catalog
        } else {
            &env.catalog_new
        }
    };

    for (i, (client, server, port, period)) in service_pairs(env).into_iter().enumerate() {
        let mut t = start + (i as i64 * 17 + 3) * SEC;
        while t < end {
            let client = if client.workload == "catalog" {
                catalog_at(t)
            } else {
                client
            };
            let server = if server.workload == "catalog" {
                catalog_at(t)
            } else {
                server
            };
            let node = env.node_of(client);
            let sport = sim.eport();
            let dur = (2 + sim.rng.below(90) as i64) * SEC;
            sim.hubble_tcp(
                t,
                node,
                Ep::pod(client),
                Ep::pod(server),
                sport,
                port,
                Tcp::Open(dur),
            );
            // Cross-node pod traffic leaves the node: the VPC sees it too (ENI mode).
            if client.node != server.node {
                let eni = eni_of(env.node_of(client));
                sim.vpc(
                    t,
                    &eni,
                    (&client.ip, sport),
                    (&server.ip, port),
                    6,
                    8 + sim.rng.below(30),
                    true,
                );
                sim.vpc(
                    t,
                    &eni,
                    (&server.ip, port),
                    (&client.ip, sport),
                    6,
                    6 + sim.rng.below(30),
                    true,
                );
            }
            t += (period + sim.rng.below(period as u64 / 3) as i64) * SEC;
        }
    }

    // The load balancer's targets: ALB addresses in the public subnets → frontend:3000.
    for (i, alb) in ["10.20.1.23", "10.20.2.41"].iter().enumerate() {
        for (j, fe) in [&env.frontend, &env.frontend2].into_iter().enumerate() {
            let mut t = start + ((i * 2 + j) as i64 * 11 + 1) * SEC;
            while t < end {
                let src = Ep {
                    json: &env.world,
                    ip: alb,
                    name: None,
                };
                let sport = sim.eport();
                sim.hubble_tcp(
                    t,
                    env.node_of(fe),
                    src,
                    Ep::pod(fe),
                    sport,
                    3000,
                    Tcp::Open(61 * SEC),
                );
                let eni = eni_of(env.node_of(fe));
                sim.vpc(
                    t,
                    &eni,
                    (alb, sport),
                    (&fe.ip, 3000),
                    6,
                    40 + sim.rng.below(200),
                    true,
                );
                t += (480 + sim.rng.below(300) as i64) * SEC;
            }
        }
    }

    // Prometheus scrapes: pooled connections, renewed every quarter of an hour or so. Eight ports
    // in all (pods' metrics, exporters, node-exporter, cilium-agent).
    let pods_scraped: [(&Pod, u16); 7] = [
        (&env.frontend, 9464),
        (&env.frontend2, 9464),
        (&env.cart, 8080),
        (&env.checkout, 8080),
        (&env.payments, 9090),
        (&env.postgres, 9187),
        (&env.redis, 9121),
    ];
    let mut k = 0i64;
    for (target, port) in pods_scraped {
        let mut t = start + (k * 23 + 7) * SEC;
        k += 1;
        while t < end {
            let sport = sim.eport();
            sim.hubble_tcp(
                t,
                &env.n2,
                Ep::pod(&env.prometheus),
                Ep::pod(target),
                sport,
                port,
                Tcp::Open(14 * MIN),
            );
            t += (900 + sim.rng.below(300) as i64) * SEC;
        }
    }
    for node in [&env.n1, &env.n2, &env.ndb] {
        for port in [9100u16, 9962] {
            let mut t = start + (k * 23 + 7) * SEC;
            k += 1;
            while t < end {
                let dst = Ep {
                    json: if node.name == env.n2.name {
                        &env.host_ep
                    } else {
                        &env.remote_node
                    },
                    ip: &node.ip,
                    name: None,
                };
                let sport = sim.eport();
                sim.hubble_tcp(
                    t,
                    &env.n2,
                    Ep::pod(&env.prometheus),
                    dst,
                    sport,
                    port,
                    Tcp::Open(14 * MIN),
                );
                t += (900 + sim.rng.below(300) as i64) * SEC;
            }
        }
    }
    // coredns metrics, scraped on the same schedule.
    let mut t = start + 301 * SEC;
    while t < end {
        let sport = sim.eport();
        sim.hubble_tcp(
            t,
            &env.n2,
            Ep::pod(&env.prometheus),
            Ep::pod(&env.coredns),
            sport,
            9153,
            Tcp::Open(14 * MIN),
        );
        t += (900 + sim.rng.below(300) as i64) * SEC;
    }

    // The hourly report CronJob: a new Job pod each hour, one query to postgres.
    for hour in 8..12 {
        let sched = at(day, hour, 0, 0, 0);
        let minute = sched / MIN;
        let suffix = sim.rng.k8s_suffix(5);
        let name = format!("report-hourly-{minute}-{suffix}");
        let ip = format!("10.20.3.{}", 150 + hour);
        let job = pod(
            "batch",
            &name,
            "report-hourly",
            "Job",
            &ip,
            &env.n1,
            "412093335051.dkr.ecr.eu-west-1.amazonaws.com/batch/report:1.4.0",
            (4000 + hour as u32, 51544),
        );
        let t = sched + 4 * SEC;
        let sport = sim.eport();
        sim.hubble_tcp(
            t + 300 * MS,
            &env.n1,
            Ep::pod(&job),
            Ep::pod(&env.postgres),
            sport,
            5432,
            Tcp::Open(38 * SEC),
        );
        sim.vpc(
            t,
            &eni_of(&env.n1),
            (&job.ip, sport),
            (&env.postgres.ip, 5432),
            6,
            60,
            true,
        );
        if !flows_only {
            sim.hubble_dns(
                t,
                &env.n1,
                &job,
                Ep::pod(&env.coredns),
                "postgres.db.svc.cluster.local",
                Some(&env.postgres.ip),
            );
            let init = sim.pod_init(
                &env.n1,
                &job,
                "/usr/local/bin/python3",
                "-m report --since 1h",
                t - 2 * SEC,
            );
            let runc = super::act::Proc {
                binary: "/usr/bin/runc".into(),
                ..init.clone()
            };
            let main = sim.exec(
                t - 2 * SEC,
                &env.n1,
                &job,
                &runc,
                "/usr/local/bin/python3",
                "-m report --since 1h",
            );
            sim.exit(t + 39 * SEC, &env.n1, &job, &main, &runc, 0);
        }
    }

    // Nodes pull images and talk to AWS APIs (external, HTTPS).
    for (i, node) in [&env.n1, &env.n2, &env.ndb].into_iter().enumerate() {
        let mut t = start + (i as i64 * 31 + 40) * SEC;
        while t < end {
            let sport = sim.eport();
            let dst = ["52.95.150.2", "3.5.64.120", "52.218.24.197"][(t / SEC) as usize % 3];
            sim.vpc(
                t,
                &eni_of(node),
                (&node.ip, sport),
                (dst, 443),
                6,
                20 + sim.rng.below(80),
                true,
            );
            sim.vpc(
                t,
                &eni_of(node),
                (dst, 443),
                (&node.ip, sport),
                6,
                30 + sim.rng.below(300),
                true,
            );
            t += (300 + sim.rng.below(240) as i64) * SEC;
        }
    }
    // Internet background noise against the bastion's public interface: scanners probing a
    // few ports each, rejected by the security group.
    let scanners: [(&str, &[u16]); 6] = [
        ("45.155.205.233", &[22, 2222]),
        ("162.142.125.219", &[23, 8080, 443]),
        ("194.180.49.17", &[3389]),
        ("80.94.95.226", &[22, 5900]),
        ("167.94.138.44", &[445, 6379]),
        ("198.235.24.140", &[8443, 9200, 22]),
    ];
    for (i, (ip, ports)) in scanners.iter().enumerate() {
        let t = start + (i as i64 * 37 + 5) * MIN + (i as i64 * 13) * SEC;
        for (j, port) in ports.iter().enumerate() {
            let sport = 40_000 + sim.rng.below(20_000) as u16;
            sim.vpc(
                t + j as i64 * 2 * SEC,
                "eni-04d6a2c9e1b7f3058",
                (ip, sport),
                (&env.bastion.ip, *port),
                6,
                1,
                false,
            );
        }
    }
    // Administrators reach the nodes through the bastion.
    let admin = at(day, 8, 41, 7, 220);
    let sport = sim.eport();
    sim.vpc(
        admin,
        "eni-04d6a2c9e1b7f3058",
        (&env.bastion.ip, sport),
        (&env.n1.ip, 22),
        6,
        90,
        true,
    );
    sim.vpc(
        admin,
        &eni_of(&env.n1),
        (&env.n1.ip, 22),
        (&env.bastion.ip, sport),
        6,
        84,
        true,
    );

    if flows_only {
        return;
    }

    // DNS: every workload resolves its dependencies (client-side caches expire every few
    // minutes); a search-path expansion misses now and then.
    let lookups: Vec<(&Pod, Vec<(&str, &Pod)>)> = vec![
        (
            &env.frontend,
            vec![
                ("cart.shop", &env.cart),
                ("catalog.shop", &env.catalog),
                ("checkout.shop", &env.checkout),
            ],
        ),
        (
            &env.frontend2,
            vec![
                ("cart.shop", &env.cart),
                ("catalog.shop", &env.catalog),
                ("checkout.shop", &env.checkout),
            ],
        ),
        (&env.cart, vec![("redis.shop", &env.redis)]),
        (
            &env.checkout,
            vec![
                ("payments-api.payments", &env.payments),
                ("cart.shop", &env.cart),
            ],
        ),
        (&env.payments, vec![("postgres.db", &env.postgres)]),
        (&env.catalog, vec![("postgres.db", &env.postgres)]),
    ];
    for (i, (client, names)) in lookups.iter().enumerate() {
        let mut t = start + (i as i64 * 7 + 2) * SEC;
        let mut n = 0usize;
        while t < end {
            let (svc, target) = names[n % names.len()];
            n += 1;
            let client = if client.workload == "catalog" {
                catalog_at(t)
            } else {
                client
            };
            let q = format!("{svc}.svc.cluster.local");
            let node = env.node_of(client);
            let answer_ip = if target.workload == "catalog" {
                &catalog_at(t).ip
            } else {
                &target.ip
            };
            sim.hubble_dns(t, node, client, Ep::pod(&env.coredns), &q, Some(answer_ip));
            if n.is_multiple_of(5) {
                // ndots:5 tries the pod's own namespace first.
                let miss = format!("{svc}.{}.svc.cluster.local", client.namespace);
                sim.hubble_dns(t - 2 * MS, node, client, Ep::pod(&env.coredns), &miss, None);
            }
            t += (300 + sim.rng.below(240) as i64) * SEC;
        }
    }

    // Container starts: the catalog rollout's new pod, and the main processes Tetragon saw.
    let new_main = sim.pod_init(
        &env.n2,
        &env.catalog_new,
        "/usr/local/bin/catalog",
        "serve --port 8080",
        rollout,
    );
    let runc = super::act::Proc {
        binary: "/usr/bin/runc".into(),
        args: "init".into(),
        ..new_main.clone()
    };
    sim.exec(
        rollout,
        &env.n2,
        &env.catalog_new,
        &runc,
        "/usr/local/bin/catalog",
        "serve --port 8080",
    );
    sim.falco(
        rollout + 40 * MS,
        &env.n2,
        &env.catalog_new,
        "Launch Privileged Container",
        "Informational",
        "Privileged container started",
        &[
            "T1610",
            "cis",
            "container",
            "maturity_incubating",
            "mitre_execution",
        ],
        (
            "catalog",
            "/usr/local/bin/catalog",
            "catalog serve --port 8080",
            "runc",
        ),
        "container",
        None,
    );
    // Readiness probes on redis run through the runtime: Tetragon sees every one.
    let redis_init = sim.pod_init(
        &env.ndb,
        &env.redis,
        "/opt/bitnami/redis/bin/redis-server",
        "*:6379",
        day,
    );
    let mut t = start + 13 * SEC;
    while t < end {
        let probe = super::act::Proc {
            binary: "/usr/bin/runc".into(),
            ..redis_init.clone()
        };
        let p = sim.exec(
            t,
            &env.ndb,
            &env.redis,
            &probe,
            "/opt/bitnami/scripts/ping_readiness_local.sh",
            "1",
        );
        let cli = sim.exec(
            t + 3 * MS,
            &env.ndb,
            &env.redis,
            &p,
            "/opt/bitnami/redis/bin/redis-cli",
            "-h localhost -p 6379 ping",
        );
        sim.exit(t + 9 * MS, &env.ndb, &env.redis, &cli, &p, 0);
        sim.exit(t + 11 * MS, &env.ndb, &env.redis, &p, &probe, 0);
        t += 15 * MIN;
    }
    // Prometheus's Kubernetes service discovery talks to the API server: Falco's default
    // rule flags it (Notice) until it is tuned.
    for h in [8, 9, 10, 11] {
        let t = at(day, h, 2, 44, 130);
        sim.falco(
            t,
            &env.n2,
            &env.prometheus,
            "Contact K8S API Server From Container",
            "Notice",
            "Unexpected connection to K8s API Server from container",
            &["T1565", "container", "k8s", "maturity_stable", "mitre_discovery", "network"],
            ("prometheus", "/bin/prometheus", "prometheus --config.file=/etc/prometheus/config_out/prometheus.env.yaml --storage.tsdb.path=/prometheus", "containerd-shim"),
            "connect",
            Some("10.20.4.200:51744->172.20.0.1:443"),
        );
    }
    // An SRE checks the cart pod's Redis connection from a shell (kubectl exec -it).
    let t = at(day, 11, 5, 18, 402);
    let cart_init = sim.pod_init(&env.n1, &env.cart, "/app/cart", "", day);
    let runc = super::act::Proc {
        binary: "/usr/bin/runc".into(),
        args: "exec -t".into(),
        ..cart_init
    };
    let sh = sim.exec(t, &env.n1, &env.cart, &runc, "/bin/sh", "");
    sim.falco(
        t + 6 * MS,
        &env.n1,
        &env.cart,
        "Terminal shell in container",
        "Notice",
        "A shell was spawned in a container with an attached terminal",
        &[
            "T1059",
            "container",
            "maturity_stable",
            "mitre_execution",
            "shell",
        ],
        ("sh", "/bin/sh", "sh", "runc"),
        "execve",
        None,
    );
    let cli = sim.exec(
        t + 21 * SEC,
        &env.n1,
        &env.cart,
        &sh,
        "/usr/local/bin/redis-cli",
        "-h redis.shop.svc.cluster.local info clients",
    );
    sim.exit(t + 21 * SEC + 40 * MS, &env.n1, &env.cart, &cli, &sh, 0);
    sim.exit(t + 95 * SEC, &env.n1, &env.cart, &sh, &runc, 0);

    // Break-glass SSH from the bastion to a node (kubelet logs).
    let h = &env.n1_host;
    let conn = sim.ssh_login(
        admin + 180 * MS,
        h,
        "ec2-user",
        1000,
        &env.bastion.ip,
        "publickey",
        None,
    );
    sim.sudo(
        admin + 14 * SEC,
        h,
        "ec2-user",
        1000,
        "pts/0",
        "/home/ec2-user",
        "/usr/bin/journalctl -u kubelet --since -1h",
    );
    sim.ssh_logout(admin + 4 * MIN, h, "ec2-user", &env.bastion.ip, conn);
    let b = &env.bastion;
    let conn = sim.ssh_login(
        admin - 38 * SEC,
        b,
        "ec2-user",
        1000,
        "10.8.0.14",
        "publickey",
        None,
    );
    sim.ssh_logout(admin + 5 * MIN, b, "ec2-user", "10.8.0.14", conn);
}

/// The primary network interface of a node.
fn eni_of(n: &Node) -> String {
    format!("eni-0{:016x}", crate::event::fnv1a(n.ip.as_bytes()) >> 4)
}

// ---------------------------------------------------------------------------------------
// Windows background

fn acct<'a>(name: &'a str, sid: &'a str) -> Account<'a> {
    Account {
        domain: "CORP",
        name,
        sid,
    }
}

fn windows_background(sim: &mut Sim, env: &Env, day: Nanos, flows_only: bool) {
    let end = at(day, 12, 0, 0, 0);
    let dc = &env.dc01;
    let fs = &env.fs01;
    for (i, u) in USERS.iter().enumerate() {
        let ws = &env.ws[u.ws];
        let usid = sid(u.rid);
        let who = acct(u.name, &usid);
        let lid = logon_id(u.logon);
        let arrive = at(day, 8, 2 + i as i64 * 3, 11 + i as i64 * 9, 310);
        kerberos_tickets(
            sim,
            env,
            arrive - 900 * MS,
            ws,
            u.name,
            &[
                "krbtgt/CORP.EXAMPLE.COM",
                &format!("host/{}", ws.fqdn.to_ascii_lowercase()),
            ],
            flows_only,
        );
        if !flows_only {
            if u.name == "asmith" {
                // A mistyped password before the real logon.
                sim.logon(
                    arrive - 9 * SEC,
                    ws,
                    who,
                    2,
                    "0x0",
                    Some(("127.0.0.1", "-")),
                    "Negotiate",
                    Some("0xc000006a"),
                );
            }
            sim.logon(
                arrive,
                ws,
                who,
                2,
                &lid,
                Some(("127.0.0.1", "-")),
                "Negotiate",
                None,
            );
            let explorer = sim.sysmon_process(
                arrive + 2 * SEC,
                ws,
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\Explorer.EXE",
                &format!("CORP\\{}", u.name),
                &lid,
                (
                    "{00000000-0000-0000-0000-000000000000}",
                    "C:\\Windows\\System32\\userinit.exe",
                    "C:\\Windows\\system32\\userinit.exe",
                ),
                "Medium",
            );
            for (k, (img, cmd)) in [
                ("C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", "\"C:\\Program Files\\Microsoft Office\\Root\\Office16\\OUTLOOK.EXE\" "),
                ("C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" "),
                ("C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe", "\"C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe\" --process-start-reason=AutoStart"),
            ]
            .iter()
            .enumerate()
            {
                let img = img.replace("Public", if k == 2 { u.name } else { "Public" });
                let cmd = cmd.replace("Public", u.name);
                sim.sysmon_process(arrive + (20 + k as i64 * 35) * SEC, ws, &img, &cmd, &format!("CORP\\{}", u.name), &lid, (&explorer, "C:\\Windows\\explorer.exe", "C:\\Windows\\Explorer.EXE"), "Medium");
            }
            if u.name == "asmith" {
                // Chrome's updater installs its elevation service (a local, signed install).
                let t = at(day, 9, 47, 3, 881);
                sim.win(t, ws, Channel::System, 7045, "Service Install", None, "A service was installed in the system.", &[
                    ("ServiceName", "Google Chrome Elevation Service (GoogleChromeElevationService)"),
                    ("ImagePath", "\"C:\\Program Files\\Google\\Chrome\\Application\\130.0.6723.59\\elevation_service.exe\""),
                    ("ServiceType", "user mode service"),
                    ("StartType", "demand start"),
                    ("AccountName", "LocalSystem"),
                ], Some("S-1-5-18"));
                // A Kerberos pre-authentication failure (a stale cached password on a phone).
                let t = at(day, 10, 22, 40, 5);
                sim.win(
                    t,
                    dc,
                    Channel::Security,
                    4771,
                    "kerberos-preauth-failed",
                    Some("failure"),
                    "Kerberos pre-authentication failed.",
                    &[
                        ("TargetUserName", "asmith"),
                        ("TargetSid", &usid),
                        ("ServiceName", "krbtgt/CORP.EXAMPLE.COM"),
                        ("TicketOptions", "0x40810010"),
                        ("Status", "0x18"),
                        ("PreAuthType", "2"),
                        ("IpAddress", &format!("::ffff:{}", ws.ip)),
                        ("IpPort", "51688"),
                    ],
                    None,
                );
            }
        }
        // Through the morning: mail and web (outbound), LDAP / Kerberos / SMB to the DC
        // (domain traffic), and the department share on FS01.
        let mut t = arrive + 60 * SEC;
        let mut n = 0u32;
        while t < end {
            n += 1;
            let user = format!("CORP\\{}", u.name);
            let sport = sim.wport();
            match n % 4 {
                0 => sim.sysmon_network(
                    t,
                    ws,
                    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
                    &user,
                    (&ws.ip, sport),
                    ("52.97.183.130", 443, "outlook.office365.com"),
                    true,
                ),
                1 => sim.sysmon_network(
                    t,
                    ws,
                    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
                    &user,
                    (&ws.ip, sport),
                    ("142.250.185.68", 443, "www.google.com"),
                    true,
                ),
                2 => {
                    sim.sysmon_network(
                        t,
                        ws,
                        "C:\\Windows\\System32\\svchost.exe",
                        "NT AUTHORITY\\NETWORK SERVICE",
                        (&ws.ip, sport),
                        (&dc.ip, 389, "DC01.corp.example.com"),
                        true,
                    );
                    let uid = sim.zeek_uid();
                    sim.zeek_conn(
                        &env.dcseg,
                        t,
                        &uid,
                        (&ws.ip, sport),
                        (&dc.ip, 389),
                        false,
                        Some("ldap_tcp"),
                        "SF",
                        120 * MS,
                        (1432, 3311),
                    );
                    let uid = sim.zeek_uid();
                    let dport = sim.eport();
                    sim.zeek_conn(
                        &env.dcseg,
                        t - 40 * MS,
                        &uid,
                        (&ws.ip, dport),
                        (&dc.ip, 53),
                        true,
                        Some("dns"),
                        "SF",
                        900_000,
                        (46, 62),
                    );
                    if !flows_only {
                        dns(
                            sim,
                            env,
                            t - 40 * MS,
                            &uid,
                            (&ws.ip, dport),
                            "_ldap._tcp.dc._msdcs.corp.example.com",
                            "SRV",
                            &dc.ip,
                        );
                    }
                }
                _ => {
                    // The department share: a Kerberos network logon on FS01.
                    sim.sysmon_network(
                        t,
                        ws,
                        "System",
                        "NT AUTHORITY\\SYSTEM",
                        (&ws.ip, sport),
                        (&fs.ip, 445, "FS01.corp.example.com"),
                        true,
                    );
                    let uid = sim.zeek_uid();
                    sim.zeek_conn(
                        &env.core,
                        t,
                        &uid,
                        (&ws.ip, sport),
                        (&fs.ip, 445),
                        false,
                        Some("smb,gssapi,krb"),
                        "SF",
                        (30 + sim.rng.below(600) as i64) * SEC + sim.rng.below(1000) as i64 * MS,
                        (18_233, 402_991),
                    );
                    kerberos_tickets(
                        sim,
                        env,
                        t - 120 * MS,
                        ws,
                        u.name,
                        &["cifs/fs01.corp.example.com"],
                        flows_only,
                    );
                    if !flows_only {
                        let fid = logon_id(0x5_0000 + sim.rng.below(0xfffff));
                        sim.logon(
                            t + 30 * MS,
                            fs,
                            who,
                            3,
                            &fid,
                            Some((&ws.ip, &ws.name)),
                            "Kerberos",
                            None,
                        );
                        sim.share_access(
                            t + 80 * MS,
                            fs,
                            who,
                            &fid,
                            &ws.ip,
                            "Shared",
                            "D:\\Shares\\Shared",
                            None,
                        );
                        sim.zeek(
                            &env.core,
                            &ZeekRec {
                                log: ZeekLog::SmbMapping,
                                ts: t + 70 * MS,
                                uid: &uid,
                                orig_h: &ws.ip,
                                orig_p: sport,
                                resp_h: &fs.ip,
                                resp_p: 445,
                                rest: &[
                                    Zv::Str("\\\\fs01.corp.example.com\\Shared"),
                                    Zv::Unset,
                                    Zv::Str("NTFS"),
                                    Zv::Str("DISK"),
                                ],
                            },
                        );
                        sim.logoff(
                            t + (600 + sim.rng.below(300) as i64) * SEC,
                            fs,
                            who,
                            3,
                            &fid,
                        );
                    }
                }
            }
            t += (210 + sim.rng.below(300) as i64) * SEC;
        }
        // Group policy refresh (every 90 minutes, with a random offset).
        let mut t = arrive + (20 + i as i64 * 7) * MIN;
        while t < end {
            let sport = sim.wport();
            let machine = format!("{}$", ws.name);
            sim.sysmon_network(
                t,
                ws,
                "System",
                "NT AUTHORITY\\SYSTEM",
                (&ws.ip, sport),
                (&dc.ip, 445, "DC01.corp.example.com"),
                true,
            );
            let uid = sim.zeek_uid();
            sim.zeek_conn(
                &env.dcseg,
                t,
                &uid,
                (&ws.ip, sport),
                (&dc.ip, 445),
                false,
                Some("smb,gssapi,krb"),
                "SF",
                2 * SEC,
                (9_102, 41_877),
            );
            kerberos_tickets(
                sim,
                env,
                t - 90 * MS,
                ws,
                &machine,
                &["cifs/DC01.corp.example.com"],
                flows_only,
            );
            if !flows_only {
                let msid = sid(1600 + u.ws as u32);
                let mid = logon_id(0x7_0000 + sim.rng.below(0xfffff));
                sim.logon(
                    t + 20 * MS,
                    dc,
                    acct(&machine, &msid),
                    3,
                    &mid,
                    Some((&ws.ip, "-")),
                    "Kerberos",
                    None,
                );
                sim.zeek(
                    &env.dcseg,
                    &ZeekRec {
                        log: ZeekLog::SmbMapping,
                        ts: t + 40 * MS,
                        uid: &uid,
                        orig_h: &ws.ip,
                        orig_p: sport,
                        resp_h: &dc.ip,
                        resp_p: 445,
                        rest: &[
                            Zv::Str("\\\\corp.example.com\\SysVol"),
                            Zv::Unset,
                            Zv::Str("NTFS"),
                            Zv::Str("DISK"),
                        ],
                    },
                );
                sim.zeek(
                    &env.dcseg,
                    &ZeekRec {
                        log: ZeekLog::DceRpc,
                        ts: t + 55 * MS,
                        uid: &uid,
                        orig_h: &ws.ip,
                        orig_p: sport,
                        resp_h: &dc.ip,
                        resp_p: 445,
                        rest: &[
                            Zv::Time(400_000),
                            Zv::Str("\\pipe\\lsass"),
                            Zv::Str("lsarpc"),
                            Zv::Str("LsarLookupNames3"),
                        ],
                    },
                );
                sim.logoff(t + 2 * SEC, dc, acct(&machine, &msid), 3, &mid);
            }
            t += (90 + sim.rng.below(30) as i64) * MIN;
        }
    }

    // The administrator's RDP session to FS01 (disk cleanup on the share volume).
    let adm = &env.adm01;
    let t = at(day, 9, 30, 4, 117);
    let sport = sim.wport();
    sim.sysmon_network(
        t,
        adm,
        "C:\\Windows\\System32\\mstsc.exe",
        "CORP\\it-admin",
        (&adm.ip, sport),
        (&fs.ip, 3389, "FS01.corp.example.com"),
        true,
    );
    let uid = sim.zeek_uid();
    sim.zeek_conn(
        &env.core,
        t,
        &uid,
        (&adm.ip, sport),
        (&fs.ip, 3389),
        false,
        Some("rdp,ssl"),
        "SF",
        22 * MIN,
        (1_840_221, 9_388_104),
    );
    kerberos_tickets(
        sim,
        env,
        t - 300 * MS,
        adm,
        "it-admin",
        &["TERMSRV/fs01.corp.example.com"],
        flows_only,
    );
    if flows_only {
        return;
    }
    let asid = sid(1120);
    let admin = acct("it-admin", &asid);
    let rid = logon_id(0x4c1d95);
    sim.zeek(
        &env.core,
        &ZeekRec {
            log: ZeekLog::Rdp,
            ts: t + 3 * MS,
            uid: &uid,
            orig_h: &adm.ip,
            orig_p: sport,
            resp_h: &fs.ip,
            resp_p: 3389,
            rest: &[Zv::Str("it-admin"), Zv::Str("encrypted"), Zv::Str("HYBRID")],
        },
    );
    sim.logon(
        t + 2 * SEC,
        fs,
        admin,
        10,
        &rid,
        Some((&adm.ip, "ADM01")),
        "Negotiate",
        None,
    );
    sim.special_logon(t + 2 * SEC + 4 * MS, fs, admin, &rid);
    let explorer = sim.sysmon_process(
        t + 9 * SEC,
        fs,
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        "CORP\\it-admin",
        &rid,
        (
            "{00000000-0000-0000-0000-000000000000}",
            "C:\\Windows\\System32\\userinit.exe",
            "C:\\Windows\\system32\\userinit.exe",
        ),
        "High",
    );
    sim.sysmon_process(
        t + 74 * SEC,
        fs,
        "C:\\Windows\\System32\\mmc.exe",
        "\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\fsmgmt.msc\" ",
        "CORP\\it-admin",
        &rid,
        (
            &explorer,
            "C:\\Windows\\explorer.exe",
            "C:\\Windows\\Explorer.EXE",
        ),
        "High",
    );
    sim.sysmon_process(
        t + 6 * MIN,
        fs,
        "C:\\Windows\\System32\\cleanmgr.exe",
        "\"C:\\Windows\\system32\\cleanmgr.exe\" /d D:",
        "CORP\\it-admin",
        &rid,
        (
            &explorer,
            "C:\\Windows\\explorer.exe",
            "C:\\Windows\\Explorer.EXE",
        ),
        "High",
    );
    sim.win(
        t + 22 * MIN,
        fs,
        Channel::Security,
        4647,
        "logged-out",
        Some("success"),
        "User initiated logoff:",
        &[
            ("TargetUserSid", &asid),
            ("TargetUserName", "it-admin"),
            ("TargetDomainName", "CORP"),
            ("TargetLogonId", &rid),
        ],
        None,
    );
    sim.logoff(t + 22 * MIN + 900 * MS, fs, admin, 10, &rid);
}

/// 4768 / 4769 on the DC and the Zeek kerberos records for tickets `client` asks for.
fn kerberos_tickets(
    sim: &mut Sim,
    env: &Env,
    t: Nanos,
    from: &WinHost,
    client: &str,
    services: &[&str],
    flows_only: bool,
) {
    let dc = &env.dc01;
    for (i, svc) in services.iter().enumerate() {
        let ts = t + i as i64 * 15 * MS;
        let tgt = svc.starts_with("krbtgt");
        let sport = sim.wport();
        let uid = sim.zeek_uid();
        sim.zeek_conn(
            &env.dcseg,
            ts,
            &uid,
            (&from.ip, sport),
            (&dc.ip, 88),
            false,
            Some("krb_tcp"),
            "SF",
            4 * MS,
            (1_421, 1_388),
        );
        if flows_only {
            continue;
        }
        let client_principal = format!("{client}/CORP.EXAMPLE.COM");
        sim.zeek(
            &env.dcseg,
            &ZeekRec {
                log: ZeekLog::Kerberos,
                ts: ts + MS,
                uid: &uid,
                orig_h: &from.ip,
                orig_p: sport,
                resp_h: &dc.ip,
                resp_p: 88,
                rest: &[
                    Zv::Str(if tgt { "AS" } else { "TGS" }),
                    Zv::Str(&client_principal),
                    Zv::Str(svc),
                    Zv::Bool(true),
                    Zv::Unset,
                    Zv::Unset,
                    Zv::Time(2_136_422_885 * SEC),
                    Zv::Str("aes256-cts-hmac-sha1-96"),
                    Zv::Bool(true),
                    Zv::Bool(true),
                ],
            },
        );
        let ip = format!("::ffff:{}", from.ip);
        let port = sport.to_string();
        if tgt {
            sim.win(
                ts + 2 * MS,
                dc,
                Channel::Security,
                4768,
                "kerberos-authentication-ticket-requested",
                Some("success"),
                "A Kerberos authentication ticket (TGT) was requested.",
                &[
                    ("TargetUserName", client),
                    ("TargetDomainName", "CORP.EXAMPLE.COM"),
                    ("ServiceName", "krbtgt"),
                    ("TicketOptions", "0x40810010"),
                    ("Status", "0x0"),
                    ("TicketEncryptionType", "0x12"),
                    ("PreAuthType", "2"),
                    ("IpAddress", &ip),
                    ("IpPort", &port),
                ],
                None,
            );
        } else {
            let user = format!("{client}@CORP.EXAMPLE.COM");
            sim.win(
                ts + 2 * MS,
                dc,
                Channel::Security,
                4769,
                "kerberos-service-ticket-requested",
                Some("success"),
                "A Kerberos service ticket was requested.",
                &[
                    ("TargetUserName", &user),
                    ("TargetDomainName", "CORP.EXAMPLE.COM"),
                    (
                        "ServiceName",
                        svc.split('/')
                            .nth(1)
                            .map_or(*svc, |h| h.split('.').next().unwrap_or(h)),
                    ),
                    ("TicketOptions", "0x40810000"),
                    ("TicketEncryptionType", "0x12"),
                    ("IpAddress", &ip),
                    ("IpPort", &port),
                    ("Status", "0x0"),
                ],
                None,
            );
        }
    }
}

/// A DNS query and answer in Zeek's dns.log.
#[allow(clippy::too_many_arguments)] // the dns.log columns that vary
fn dns(
    sim: &mut Sim,
    env: &Env,
    t: Nanos,
    uid: &str,
    orig: (&str, u16),
    query: &str,
    qtype: &str,
    answer: &str,
) {
    let qt: u64 = if qtype == "SRV" { 33 } else { 1 };
    let answers = [answer];
    sim.zeek(
        &env.dcseg,
        &ZeekRec {
            log: ZeekLog::Dns,
            ts: t,
            uid,
            orig_h: orig.0,
            orig_p: orig.1,
            resp_h: &env.dc01.ip,
            resp_p: 53,
            rest: &[
                Zv::Str("udp"),
                Zv::Int(sim.rng.below(65_536)),
                Zv::Time(420_000),
                Zv::Str(query),
                Zv::Int(1),
                Zv::Str("C_INTERNET"),
                Zv::Int(qt),
                Zv::Str(qtype),
                Zv::Int(0),
                Zv::Str("NOERROR"),
                Zv::Bool(true),
                Zv::Bool(false),
                Zv::Bool(true),
                Zv::Bool(true),
                Zv::Int(0),
                Zv::List(&answers),
                Zv::List(&["600.000000"]),
                Zv::Bool(false),
            ],
        },
    );
}

// ---------------------------------------------------------------------------------------
// Linux background

fn linux_background(sim: &mut Sim, env: &Env, day: Nanos) {
    let start = at(day, 8, 0, 0, 0);
    let end = at(day, 12, 0, 0, 0);
    let hosts: Vec<&LinuxHost> = env.app.iter().chain([&env.build7, &env.bastion]).collect();
    for h in &hosts {
        // Debian's sysstat collector every ten minutes, and run-parts hourly at :17.
        let mut t = start + 5 * MIN + SEC;
        while t < end {
            sim.cron(
                t + sim.rng.below(900) as i64 * MS,
                h,
                "root",
                0,
                "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
            );
            if (t - day) / MIN % 60 == 15 {
                sim.cron(
                    t + 2 * MIN + 40 * MS,
                    h,
                    "root",
                    0,
                    "cd / && run-parts --report /etc/cron.hourly",
                );
            }
            t += 10 * MIN;
        }
    }
    // auditd on app-2 records the cron sessions too.
    let app2 = &env.app[1];
    let mut t = start + 5 * MIN + SEC;
    while t < end {
        let ses = sim.session(&app2.name);
        let pid = sim.pid(&app2.name);
        let inner = |op: &str| {
            format!(
                "op={op} acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success"
            )
        };
        sim.audit_user(
            t,
            app2,
            "USER_ACCT",
            pid,
            4_294_967_295,
            4_294_967_295,
            &inner("PAM:accounting grantors=pam_permit"),
        );
        sim.audit_user(
            t + MS,
            app2,
            "CRED_ACQ",
            pid,
            4_294_967_295,
            4_294_967_295,
            &inner("PAM:setcred grantors=pam_permit"),
        );
        sim.audit_user(
            t + 3 * MS,
            app2,
            "USER_START",
            pid,
            0,
            ses,
            &inner("PAM:session_open grantors=pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits"),
        );
        sim.audit_exec(
            t + 5 * MS,
            app2,
            (0, 0, ses),
            "(none)",
            pid,
            "/usr/lib/sysstat/sadc",
            &[
                "/usr/lib/sysstat/sadc",
                "-F",
                "-L",
                "-S",
                "DISK",
                "1",
                "1",
                "/var/log/sysstat",
            ],
            "/",
        );
        sim.audit_user(
            t + 800 * MS,
            app2,
            "USER_END",
            pid,
            0,
            ses,
            &inner(
                "PAM:session_close grantors=pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits",
            ),
        );
        t += 10 * MIN;
    }

    // Jenkins deploys from build-7 with the deploy key (three times this morning).
    for (k, (h, m)) in [(8, 46), (9, 51), (11, 32)].iter().enumerate() {
        for (i, app) in env.app.iter().enumerate() {
            let t = at(day, *h, *m, 5 + i as i64 * 41, 220 + k as i64 * 17);
            let audited = app.name == "app-2";
            let conn = sim.ssh_login(
                t,
                app,
                "deploy",
                1002,
                &env.build7.ip,
                "publickey",
                audited.then_some(false),
            );
            if audited {
                let ses = conn.1;
                sim.audit_exec(
                    t + 2 * SEC,
                    app,
                    (1002, 1002, ses),
                    "(none)",
                    conn.0,
                    "/usr/bin/rsync",
                    &[
                        "rsync",
                        "--server",
                        "-logDtprze.iLsfxCIvu",
                        ".",
                        "/srv/orders/releases/",
                    ],
                    "/home/deploy",
                );
                sim.audit_user(t + 9 * SEC, app, "USER_CMD", conn.0 + 2, 1002, ses, "cwd=\"/home/deploy\" cmd=73797374656D63746C2072657374617274206F7264657273 exe=\"/usr/bin/sudo\" terminal=? res=success");
            }
            sim.sudo(
                t + 9 * SEC,
                app,
                "deploy",
                1002,
                "unknown",
                "/home/deploy",
                "/usr/bin/systemctl restart orders",
            );
            sim.ssh_logout(t + 12 * SEC, app, "deploy", &env.build7.ip, conn);
        }
    }

    // The operations engineer, through the bastion.
    for (app, h, m, cmd) in [
        (&env.app[0], 8, 30, "/usr/bin/systemctl status nginx"),
        (
            &env.app[2],
            11,
            10,
            "/usr/bin/tail -n 200 /var/log/nginx/error.log",
        ),
    ] {
        let t = at(day, h, m, 19, 604);
        let b = &env.bastion;
        let hop = sim.ssh_login(t - 31 * SEC, b, "ops", 1001, "10.8.0.14", "publickey", None);
        let conn = sim.ssh_login(t, app, "ops", 1001, &b.ip, "publickey", None);
        sim.sudo(t + 47 * SEC, app, "ops", 1001, "pts/0", "/home/ops", cmd);
        sim.ssh_logout(t + 6 * MIN, app, "ops", &b.ip, conn);
        sim.ssh_logout(t + 6 * MIN + 4 * SEC, b, "ops", "10.8.0.14", hop);
    }
}

// ---------------------------------------------------------------------------------------
// Intrusion 1: the compromised frontend pod (Kubernetes)

fn k8s_intrusion(sim: &mut Sim, env: &Env, day: Nanos) {
    let fe = &env.frontend;
    let node = &env.n1;
    let main = sim.pod_init(
        node,
        fe,
        "/usr/local/bin/node",
        "server.js",
        at(day - 86_400 * SEC, 21, 14, 9, 0),
    );
    let coredns = Ep::pod(&env.coredns);

    // 09:12 remote code execution in the Node.js server: a shell, then discovery.
    let t0 = at(day, 9, 12, 4, 218);
    let sh = sim.exec(t0, node, fe, &main, "/bin/sh", "-c whoami");
    let w = sim.exec(t0 + 3 * MS, node, fe, &sh, "/usr/bin/whoami", "");
    sim.exit(t0 + 5 * MS, node, fe, &w, &sh, 0);
    sim.exit(t0 + 6 * MS, node, fe, &sh, &main, 0);
    let t = t0 + 41 * SEC;
    let sh = sim.exec(
        t,
        node,
        fe,
        &main,
        "/bin/sh",
        "-c 'uname -a; lsmod; cat /proc/1/cgroup'",
    );
    let u = sim.exec(t + 2 * MS, node, fe, &sh, "/bin/uname", "-a");
    let l = sim.exec(t + 5 * MS, node, fe, &sh, "/sbin/lsmod", "");
    let c = sim.exec(t + 9 * MS, node, fe, &sh, "/bin/cat", "/proc/1/cgroup");
    for (p, d) in [(&u, 3), (&l, 8), (&c, 11)] {
        sim.exit(t + d * MS, node, fe, p, &sh, 0);
    }
    sim.exit(t + 12 * MS, node, fe, &sh, &main, 0);

    // 09:13 Kubernetes DNS enumeration: guessing service names across namespaces.
    let t = at(day, 9, 13, 28, 901);
    let sh = sim.exec(
        t,
        node,
        fe,
        &main,
        "/bin/sh",
        "-c 'for n in $(cat /tmp/.n); do getent hosts $n; done'",
    );
    let guesses: [(&str, Option<&str>); 16] = [
        ("kubernetes.default", Some("172.20.0.1")),
        ("api.shop", None),
        ("admin.shop", None),
        ("auth.shop", None),
        ("redis.shop", Some(&env.redis.ip)),
        ("postgres.db", Some(&env.postgres.ip)),
        ("mysql.db", None),
        ("mongodb.db", None),
        ("payments-api.payments", Some(&env.payments.ip)),
        ("vault.vault", None),
        ("jenkins.ci", None),
        ("argocd-server.argocd", None),
        ("grafana.monitoring", None),
        ("prometheus-k8s.monitoring", Some(&env.prometheus.ip)),
        ("elasticsearch.logging", None),
        ("etcd.kube-system", None),
    ];
    for (i, (name, answer)) in guesses.iter().enumerate() {
        let ts = t + 40 * MS + i as i64 * 2_300 * MS;
        let g = sim.exec(
            ts,
            node,
            fe,
            &sh,
            "/usr/bin/getent",
            &format!("hosts {name}.svc.cluster.local"),
        );
        sim.hubble_dns(
            ts + 600_000,
            node,
            fe,
            coredns,
            &format!("{name}.svc.cluster.local"),
            *answer,
        );
        sim.exit(
            ts + 3 * MS,
            node,
            fe,
            &g,
            &sh,
            if answer.is_some() { 0 } else { 2 },
        );
    }
    sim.exit(t + 38 * SEC, node, fe, &sh, &main, 0);

    // 09:16 credentials: the service account token, then the API server with it.
    let t = at(day, 9, 16, 2, 77);
    let sh = sim.exec(
        t,
        node,
        fe,
        &main,
        "/bin/sh",
        "-c 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'",
    );
    let c = sim.exec(
        t + 2 * MS,
        node,
        fe,
        &sh,
        "/bin/cat",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
    );
    sim.kprobe(
        t + 3 * MS,
        node,
        fe,
        &c,
        &sh,
        &KprobeArg::FileRead("/var/run/secrets/kubernetes.io/serviceaccount/token"),
    );
    sim.exit(t + 4 * MS, node, fe, &c, &sh, 0);
    sim.exit(t + 5 * MS, node, fe, &sh, &main, 0);
    let t = at(day, 9, 16, 40, 512);
    let args = "-sk -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IjZkZjNhIn0' https://172.20.0.1/api/v1/namespaces/shop/secrets";
    let sh = sim.exec(t, node, fe, &main, "/bin/sh", &format!("-c 'curl {args}'"));
    let cu = sim.exec(t + 2 * MS, node, fe, &sh, "/usr/bin/curl", args);
    let sport = sim.eport();
    sim.hubble_tcp(
        t + 9 * MS,
        node,
        Ep::pod(fe),
        Ep {
            json: &env.apiserver,
            ip: "10.20.0.173",
            name: None,
        },
        sport,
        443,
        Tcp::Open(140 * MS),
    );
    sim.falco(
        t + 9 * MS,
        node,
        fe,
        "Contact K8S API Server From Container",
        "Notice",
        "Unexpected connection to K8s API Server from container",
        &[
            "T1565",
            "container",
            "k8s",
            "maturity_stable",
            "mitre_discovery",
            "network",
        ],
        ("curl", "/usr/bin/curl", &format!("curl {args}"), "sh"),
        "connect",
        Some(&format!("{}:{sport}->172.20.0.1:443", fe.ip)),
    );
    sim.exit(t + 160 * MS, node, fe, &cu, &sh, 0);
    sim.exit(t + 161 * MS, node, fe, &sh, &main, 0);

    // 09:17 the node's instance role, from the metadata service.
    for (i, path) in [
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials/prod-eu1-node-role",
    ]
    .iter()
    .enumerate()
    {
        let t = at(day, 9, 17, 15 + i as i64 * 9, 330);
        let url = format!("http://169.254.169.254{path}");
        let cu = sim.exec(t, node, fe, &main, "/usr/bin/curl", &format!("-s {url}"));
        let sport = sim.eport();
        sim.kprobe(
            t + MS,
            node,
            fe,
            &cu,
            &main,
            &KprobeArg::Connect(&fe.ip, sport, "169.254.169.254", 80),
        );
        sim.hubble_tcp(
            t + MS,
            node,
            Ep::pod(fe),
            Ep {
                json: &env.world,
                ip: "169.254.169.254",
                name: None,
            },
            sport,
            80,
            Tcp::Open(4 * MS),
        );
        sim.exit(t + 6 * MS, node, fe, &cu, &main, 0);
    }

    // 09:19 a port scan of the database node with bash's /dev/tcp.
    let t = at(day, 9, 19, 2, 640);
    let ports: [u16; 16] = [
        21, 22, 23, 25, 80, 111, 443, 445, 2049, 3306, 5432, 6379, 8080, 9200, 10250, 27017,
    ];
    let sh = sim.exec(t, node, fe, &main, "/bin/bash", "-c 'for p in 21 22 23 25 80 111 443 445 2049 3306 5432 6379 8080 9200 10250 27017; do (echo > /dev/tcp/10.20.12.7/$p) 2>/dev/null && echo $p; done'");
    let dbnode = Ep {
        json: &env.remote_node,
        ip: &env.ndb.ip,
        name: None,
    };
    for (i, p) in ports.iter().enumerate() {
        let ts = t + 30 * MS + i as i64 * 310 * MS;
        let sport = sim.eport();
        let open = matches!(p, 22 | 111 | 10250);
        sim.hubble_tcp(
            ts,
            node,
            Ep::pod(fe),
            dbnode,
            sport,
            *p,
            if open {
                Tcp::Open(2 * MS)
            } else {
                Tcp::Refused
            },
        );
        sim.vpc(
            ts,
            &eni_of(node),
            (&fe.ip, sport),
            (&env.ndb.ip, *p),
            6,
            if open { 5 } else { 2 },
            true,
        );
    }
    sim.exit(t + 5 * SEC, node, fe, &sh, &main, 0);

    // 09:20 tools: an SSH client from the distribution's mirror.
    let t = at(day, 9, 20, 31, 5);
    let apk = sim.exec(
        t,
        node,
        fe,
        &main,
        "/sbin/apk",
        "add --no-cache openssh-client sshpass",
    );
    sim.hubble_dns(
        t + 4 * MS,
        node,
        fe,
        coredns,
        "dl-cdn.alpinelinux.org",
        Some("151.101.2.132"),
    );
    let sport = sim.eport();
    sim.hubble_tcp(
        t + 6 * MS,
        node,
        Ep::pod(fe),
        Ep {
            json: &env.world,
            ip: "151.101.2.132",
            name: Some("dl-cdn.alpinelinux.org"),
        },
        sport,
        443,
        Tcp::Open(2 * SEC),
    );
    sim.exit(t + 2300 * MS, node, fe, &apk, &main, 0);

    // 09:21 password guessing over SSH against three nodes, then a login to the database
    // node with the password found in the pod's environment.
    let targets = [
        (&env.n2_host, &env.n2, "ec2-user"),
        (&env.n1_host, &env.n1, "ec2-user"),
        (&env.ndb_host, &env.ndb, "dbadmin"),
    ];
    for (i, (host, tnode, user)) in targets.iter().enumerate() {
        let t = at(day, 9, 21, 10 + i as i64 * 47, 820);
        let sp = sim.exec(
            t,
            node,
            fe,
            &main,
            "/usr/bin/sshpass",
            &format!(
                "-p ******** ssh -o StrictHostKeyChecking=no {user}@{}",
                tnode.ip
            ),
        );
        let ssh = sim.exec(
            t + 2 * MS,
            node,
            fe,
            &sp,
            "/usr/bin/ssh",
            &format!("-o StrictHostKeyChecking=no {user}@{}", tnode.ip),
        );
        let sport = sim.eport();
        let ep = Ep {
            json: if tnode.name == node.name {
                &env.host_ep
            } else {
                &env.remote_node
            },
            ip: &tnode.ip,
            name: None,
        };
        sim.hubble_tcp(
            t + 4 * MS,
            node,
            Ep::pod(fe),
            ep,
            sport,
            22,
            Tcp::Open(2600 * MS),
        );
        if tnode.name != node.name {
            sim.vpc(
                t,
                &eni_of(node),
                (&fe.ip, sport),
                (&tnode.ip, 22),
                6,
                19,
                true,
            );
        }
        sim.ssh_fail(t + 2400 * MS, host, user, &fe.ip, false);
        sim.exit(t + 2700 * MS, node, fe, &ssh, &sp, 255);
        sim.exit(t + 2701 * MS, node, fe, &sp, &main, 5);
    }
    let t = at(day, 9, 23, 5, 14);
    let db = &env.ndb_host;
    let sp = sim.exec(
        t,
        node,
        fe,
        &main,
        "/usr/bin/sshpass",
        "-p ******** ssh -tt -o StrictHostKeyChecking=no dbadmin@10.20.12.7",
    );
    let ssh = sim.exec(
        t + 2 * MS,
        node,
        fe,
        &sp,
        "/usr/bin/ssh",
        "-tt -o StrictHostKeyChecking=no dbadmin@10.20.12.7",
    );
    let sport = sim.eport();
    sim.hubble_tcp(
        t + 4 * MS,
        node,
        Ep::pod(fe),
        dbnode,
        sport,
        22,
        Tcp::Open(8 * MIN),
    );
    sim.vpc(
        t,
        &eni_of(node),
        (&fe.ip, sport),
        (&env.ndb.ip, 22),
        6,
        410,
        true,
    );
    let conn = sim.ssh_login(
        t + 1_310 * MS,
        db,
        "dbadmin",
        1001,
        &fe.ip,
        "password",
        Some(true),
    );
    sim.syslog(
        t + 1_402 * MS,
        db,
        "sshd",
        Some(conn.0),
        &format!(
            "Starting session: shell on pts/0 for dbadmin from {} port {} id 0",
            fe.ip, conn.2
        ),
    );
    // On the node: the database, straight from its host.
    let ses = (1001, 1001, conn.1);
    let bash = sim.audit_exec(
        t + 3 * SEC,
        db,
        ses,
        "pts0",
        conn.0 + 1,
        "/usr/bin/bash",
        &["-bash"],
        "/home/dbadmin",
    );
    sim.audit_exec(
        t + 31 * SEC,
        db,
        ses,
        "pts0",
        bash,
        "/usr/bin/psql",
        &["psql", "-h", "10.20.12.40", "-U", "postgres", "-c", "\\l"],
        "/home/dbadmin",
    );
    sim.audit_exec(
        t + 94 * SEC,
        db,
        ses,
        "pts0",
        bash,
        "/usr/bin/pg_dump",
        &[
            "pg_dump",
            "-h",
            "10.20.12.40",
            "-U",
            "postgres",
            "-d",
            "orders",
            "-f",
            "/tmp/.o.sql",
        ],
        "/home/dbadmin",
    );
    sim.ssh_logout(t + 8 * MIN, db, "dbadmin", &fe.ip, conn);
    sim.exit(t + 8 * MIN + 5 * MS, node, fe, &ssh, &sp, 0);
    sim.exit(t + 8 * MIN + 6 * MS, node, fe, &sp, &main, 0);
}

// ---------------------------------------------------------------------------------------
// Intrusion 2: PsExec with a stolen hash (Windows domain)

fn windows_intrusion(sim: &mut Sim, env: &Env, day: Nanos) {
    let ws = &env.ws[0];
    let jdoe_sid = sid(1104);
    let user = "CORP\\jdoe";
    let lid = logon_id(0x2a7f31);
    let implant = "C:\\Users\\jdoe\\AppData\\Local\\Temp\\OneDriveStandaloneUpdate.exe";
    let implant_guid = sim.win_guid(ws, at(day, 8, 41, 2, 0));
    let parent = (
        implant_guid.as_str(),
        implant,
        "\"C:\\Users\\jdoe\\AppData\\Local\\Temp\\OneDriveStandaloneUpdate.exe\" /silent",
    );

    // 10:02 discovery from the implant's shell.
    let t = at(day, 10, 2, 11, 402);
    let cmd = sim.sysmon_process(
        t,
        ws,
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Windows\\system32\\cmd.exe",
        user,
        &lid,
        parent,
        "High",
    );
    let shell = (
        cmd.as_str(),
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Windows\\system32\\cmd.exe",
    );
    for (i, (img, line)) in [
        ("C:\\Windows\\System32\\whoami.exe", "whoami /all"),
        (
            "C:\\Windows\\System32\\net.exe",
            "net  group \"Domain Admins\" /domain",
        ),
        (
            "C:\\Windows\\System32\\nltest.exe",
            "nltest  /dclist:corp.example.com",
        ),
    ]
    .iter()
    .enumerate()
    {
        sim.sysmon_process(
            t + (4 + i as i64 * 19) * SEC,
            ws,
            img,
            line,
            user,
            &lid,
            shell,
            "High",
        );
    }

    // 10:04 credential dumping with a renamed mimikatz; Sysmon sees it open LSASS.
    let m64 = "C:\\Users\\jdoe\\AppData\\Local\\Temp\\m64.exe";
    let t = at(day, 10, 4, 40, 17);
    let mguid = sim.sysmon_process(
        t,
        ws,
        m64,
        "m64.exe  \"privilege::debug\" \"sekurlsa::logonpasswords\" exit",
        user,
        &lid,
        shell,
        "High",
    );
    let mut utc = String::new();
    super::format::sysmon_time(&mut utc, t + 310 * MS);
    let lsass_guid = sim.win_guid(ws, at(day, 7, 58, 3, 0));
    sim.win(t + 310 * MS, ws, Channel::Sysmon, 10, "Process accessed (rule: ProcessAccess)", None, "Process accessed:", &[
        ("RuleName", "technique_id=T1003,technique_name=Credential Dumping"),
        ("UtcTime", &utc),
        ("SourceProcessGUID", &mguid),
        ("SourceProcessId", "7312"),
        ("SourceThreadId", "7340"),
        ("SourceImage", m64),
        ("TargetProcessGUID", &lsass_guid),
        ("TargetProcessId", "716"),
        ("TargetImage", "C:\\Windows\\system32\\lsass.exe"),
        ("GrantedAccess", "0x1010"),
        ("CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+9fc24|C:\\Windows\\System32\\KERNELBASE.dll+2e8ce|UNKNOWN(00007FF6A1B2C3D4)"),
        ("SourceUser", user),
        ("TargetUser", "NT AUTHORITY\\SYSTEM"),
    ], None);

    // 10:06 pass-the-hash: a NewCredentials logon carrying svc_backup's NTLM hash.
    let t = at(day, 10, 6, 2, 550);
    let pth = sim.sysmon_process(t, ws, m64, "m64.exe  \"sekurlsa::pth /user:svc_backup /domain:CORP /ntlm:9f3e6a2b1c0d4e5f8a7b6c5d4e3f2a1b /run:cmd.exe\" exit", user, &lid, shell, "High");
    let new_lid = logon_id(0x3b8e21);
    sim.win(
        t + 42 * MS,
        ws,
        Channel::Security,
        4624,
        "logged-in",
        Some("success"),
        "An account was successfully logged on.",
        &[
            ("SubjectUserSid", &jdoe_sid),
            ("SubjectUserName", "jdoe"),
            ("SubjectDomainName", "CORP"),
            ("SubjectLogonId", &lid),
            ("TargetUserSid", &jdoe_sid),
            ("TargetUserName", "jdoe"),
            ("TargetDomainName", "CORP"),
            ("TargetLogonId", &new_lid),
            ("LogonType", "9"),
            ("LogonProcessName", "seclogo"),
            ("AuthenticationPackageName", "Negotiate"),
            ("WorkstationName", "-"),
            ("LogonGuid", "{00000000-0000-0000-0000-000000000000}"),
            ("TransmittedServices", "-"),
            ("LmPackageName", "-"),
            ("KeyLength", "0"),
            ("ProcessId", "0x1c90"),
            ("ProcessName", m64),
            ("IpAddress", "::1"),
            ("IpPort", "0"),
            ("ImpersonationLevel", "%%1833"),
            ("RestrictedAdminMode", "-"),
            ("TargetOutboundUserName", "svc_backup"),
            ("TargetOutboundDomainName", "CORP"),
            ("VirtualAccount", "%%1843"),
            ("TargetLinkedLogonId", "0x0"),
            ("ElevatedToken", "%%1842"),
        ],
        None,
    );
    let cmd2 = sim.sysmon_process(
        t + 60 * MS,
        ws,
        "C:\\Windows\\System32\\cmd.exe",
        "cmd.exe",
        user,
        &new_lid,
        (&pth, m64, "m64.exe"),
        "High",
    );
    let shell2 = (cmd2.as_str(), "C:\\Windows\\System32\\cmd.exe", "cmd.exe");

    // 10:06 and 10:11: PsExec to the file server and the domain controller.
    let psexec = "C:\\Users\\jdoe\\AppData\\Local\\Temp\\PsExec64.exe";
    let bsid = sid(1107);
    let backup = acct("svc_backup", &bsid);
    for (k, (target, sensor, tlogon, cmds)) in [
        (
            &env.fs01,
            &env.core,
            0x6a1f0c_u64,
            vec![
                ("C:\\Windows\\System32\\whoami.exe", "whoami"),
                (
                    "C:\\Windows\\System32\\net.exe",
                    "net  localgroup administrators",
                ),
            ],
        ),
        (
            &env.dc01,
            &env.dcseg,
            0x8c2e77,
            vec![
                ("C:\\Windows\\System32\\whoami.exe", "whoami"),
                (
                    "C:\\Windows\\System32\\ntdsutil.exe",
                    "ntdsutil  \"ac i ntds\" \"ifm\" \"create full C:\\Windows\\Temp\\ifm\" q q",
                ),
            ],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let t = if k == 0 {
            at(day, 10, 6, 49, 871)
        } else {
            at(day, 10, 11, 20, 233)
        };
        let fqdn = target.fqdn.to_ascii_lowercase();
        sim.sysmon_process(
            t,
            ws,
            psexec,
            &format!("PsExec64.exe  \\\\{fqdn} -accepteula -s cmd.exe"),
            user,
            &new_lid,
            shell2,
            "High",
        );
        let sport = 50_211 + k as u16 * 377;
        sim.sysmon_network(
            t + 180 * MS,
            ws,
            psexec,
            user,
            (&ws.ip, sport),
            (&target.ip, 445, &target.fqdn),
            true,
        );
        let uid = sim.zeek_uid();
        let base = t + 185 * MS;
        sim.zeek_conn(
            sensor,
            base,
            &uid,
            (&ws.ip, sport),
            (&target.ip, 445),
            false,
            Some("smb,ntlm,gssapi,dce_rpc"),
            "SF",
            3 * MIN,
            (529_311, 41_208),
        );
        let z = |log: ZeekLog, dt: i64, rest: &[Zv<'_>], sim: &mut Sim| {
            sim.zeek(
                sensor,
                &ZeekRec {
                    log,
                    ts: base + dt * MS,
                    uid: &uid,
                    orig_h: &ws.ip,
                    orig_p: sport,
                    resp_h: &target.ip,
                    resp_p: 445,
                    rest,
                },
            );
        };
        let tname = target.name.to_ascii_uppercase();
        z(
            ZeekLog::Ntlm,
            6,
            &[
                Zv::Str("svc_backup"),
                Zv::Str("WS01"),
                Zv::Str("CORP"),
                Zv::Str(&tname),
                Zv::Str(&fqdn),
                Zv::Str(DOMAIN),
                Zv::Bool(true),
            ],
            sim,
        );
        let ipc = format!("\\\\{fqdn}\\IPC$");
        let admin = format!("\\\\{fqdn}\\ADMIN$");
        z(
            ZeekLog::SmbMapping,
            11,
            &[Zv::Str(&ipc), Zv::Unset, Zv::Unset, Zv::Str("PIPE")],
            sim,
        );
        z(
            ZeekLog::SmbMapping,
            19,
            &[Zv::Str(&admin), Zv::Unset, Zv::Str("NTFS"), Zv::Str("DISK")],
            sim,
        );
        z(
            ZeekLog::SmbFiles,
            25,
            &[
                Zv::Str("FqG8Xd1u7Cbp1gDo2"),
                Zv::Str("SMB::FILE_WRITE"),
                Zv::Str(&admin),
                Zv::Str("PSEXESVC.exe"),
                Zv::Int(383_432),
                Zv::Unset,
                Zv::Time(base + 25 * MS),
                Zv::Time(base + 25 * MS),
                Zv::Time(base + 25 * MS),
                Zv::Time(base + 25 * MS),
                Zv::Int(0),
                Zv::Int(383_432),
                Zv::Int(0),
            ],
            sim,
        );
        for (j, op) in ["OpenSCManagerW", "CreateServiceW", "StartServiceW"]
            .iter()
            .enumerate()
        {
            z(
                ZeekLog::DceRpc,
                140 + j as i64 * 9,
                &[
                    Zv::Time(600_000),
                    Zv::Str("\\pipe\\svcctl"),
                    Zv::Str("svcctl"),
                    Zv::Str(op),
                ],
                sim,
            );
        }
        // The target: a network logon with the hash (NTLM, no session key), the admin share,
        // the service binary, the service and its process.
        let tl = logon_id(tlogon);
        let tt = t + 190 * MS;
        sim.logon(
            tt,
            target,
            backup,
            3,
            &tl,
            Some((&ws.ip, "WS01")),
            "NTLM",
            None,
        );
        sim.special_logon(tt + MS, target, backup, &tl);
        sim.share_access(tt + 9 * MS, target, backup, &tl, &ws.ip, "IPC$", "", None);
        sim.share_access(
            tt + 17 * MS,
            target,
            backup,
            &tl,
            &ws.ip,
            "ADMIN$",
            "C:\\Windows",
            None,
        );
        sim.share_access(
            tt + 24 * MS,
            target,
            backup,
            &tl,
            &ws.ip,
            "ADMIN$",
            "C:\\Windows",
            Some(("PSEXESVC.exe", "0x2")),
        );
        sim.share_access(
            tt + 140 * MS,
            target,
            backup,
            &tl,
            &ws.ip,
            "IPC$",
            "",
            Some(("svcctl", "0x12019f")),
        );
        sim.win(
            tt + 160 * MS,
            target,
            Channel::System,
            7045,
            "Service Install",
            None,
            "A service was installed in the system.",
            &[
                ("ServiceName", "PSEXESVC"),
                ("ImagePath", "%SystemRoot%\\PSEXESVC.exe"),
                ("ServiceType", "user mode service"),
                ("StartType", "demand start"),
                ("AccountName", "LocalSystem"),
            ],
            Some(&bsid),
        );
        let svc = sim.sysmon_process(
            tt + 230 * MS,
            target,
            "C:\\Windows\\PSEXESVC.exe",
            "C:\\Windows\\PSEXESVC.exe",
            "NT AUTHORITY\\SYSTEM",
            "0x3e7",
            (
                "{00000000-0000-0000-0000-000000000000}",
                "C:\\Windows\\System32\\services.exe",
                "C:\\Windows\\system32\\services.exe",
            ),
            "System",
        );
        let mut utc = String::new();
        for (j, pipe) in [
            "\\PSEXESVC",
            "\\PSEXESVC-WS01-7824-stdin",
            "\\PSEXESVC-WS01-7824-stdout",
            "\\PSEXESVC-WS01-7824-stderr",
        ]
        .iter()
        .enumerate()
        {
            let ts = tt + (260 + j as i64 * 4) * MS;
            utc.clear();
            super::format::sysmon_time(&mut utc, ts);
            sim.win(
                ts,
                target,
                Channel::Sysmon,
                17,
                "Pipe Created (rule: PipeEvent)",
                None,
                "Pipe Created:",
                &[
                    ("RuleName", "-"),
                    ("EventType", "CreatePipe"),
                    ("UtcTime", &utc),
                    ("ProcessGuid", &svc),
                    ("ProcessId", "4488"),
                    ("PipeName", pipe),
                    ("Image", "C:\\Windows\\PSEXESVC.exe"),
                    ("User", "NT AUTHORITY\\SYSTEM"),
                ],
                None,
            );
        }
        let shell_t = sim.sysmon_process(
            tt + 410 * MS,
            target,
            "C:\\Windows\\System32\\cmd.exe",
            "\"cmd.exe\" ",
            "NT AUTHORITY\\SYSTEM",
            "0x3e7",
            (
                &svc,
                "C:\\Windows\\PSEXESVC.exe",
                "C:\\Windows\\PSEXESVC.exe",
            ),
            "System",
        );
        for (j, (img, line)) in cmds.iter().enumerate() {
            sim.sysmon_process(
                tt + (14 + j as i64 * 37) * SEC,
                target,
                img,
                line,
                "NT AUTHORITY\\SYSTEM",
                "0x3e7",
                (&shell_t, "C:\\Windows\\System32\\cmd.exe", "\"cmd.exe\" "),
                "System",
            );
        }
        sim.logoff(tt + 3 * MIN, target, backup, 3, &tl);
    }
}

// ---------------------------------------------------------------------------------------
// Intrusion 3: password guessing from a build agent, then root (Linux)

fn linux_intrusion(sim: &mut Sim, env: &Env, day: Nanos) {
    let src = &env.build7.ip;
    // 10:38 one password against three servers, then a second one that works on app-2.
    for (i, app) in [&env.app[0], &env.app[2], &env.app[1]].iter().enumerate() {
        let t = at(day, 10, 38, 12 + i as i64 * 28, 406);
        sim.ssh_fail(t, app, "jenkins", src, false);
        if app.name == "app-2" {
            let pid = sim.pid(&app.name);
            sim.audit_user(t + MS, app, "USER_AUTH", pid, 4_294_967_295, 4_294_967_295, &format!("op=PAM:authentication grantors=? acct=\"jenkins\" exe=\"/usr/sbin/sshd\" hostname={src} addr={src} terminal=ssh res=failed"));
        }
    }
    let app2 = &env.app[1];
    let t = at(day, 10, 40, 31, 118);
    let conn = sim.ssh_login(t, app2, "jenkins", 1005, src, "password", Some(true));
    sim.syslog(
        t + 88 * MS,
        app2,
        "sshd",
        Some(conn.0),
        &format!(
            "Starting session: shell on pts/1 for jenkins from {src} port {} id 0",
            conn.2
        ),
    );
    let ses = conn.1;
    let bash = sim.audit_exec(
        t + 2 * SEC,
        app2,
        (1005, 1005, ses),
        "pts1",
        conn.0 + 1,
        "/usr/bin/bash",
        &["-bash"],
        "/var/lib/jenkins",
    );
    sim.audit_exec(
        t + 31 * SEC,
        app2,
        (1005, 1005, ses),
        "pts1",
        bash,
        "/usr/bin/id",
        &["id"],
        "/var/lib/jenkins",
    );
    sim.audit_exec(
        t + 44 * SEC,
        app2,
        (1005, 1005, ses),
        "pts1",
        bash,
        "/usr/bin/sudo",
        &["sudo", "-l"],
        "/var/lib/jenkins",
    );
    // 10:41 sudo to root (the jenkins account may run anything: a leftover from setup).
    let ts = t + 59 * SEC;
    sim.sudo(
        ts,
        app2,
        "jenkins",
        1005,
        "pts/1",
        "/var/lib/jenkins",
        "/usr/bin/su -",
    );
    sim.audit_user(
        ts + MS,
        app2,
        "USER_CMD",
        bash + 9,
        1005,
        ses,
        "cwd=\"/var/lib/jenkins\" cmd=7375202D exe=\"/usr/bin/sudo\" terminal=pts/1 res=success",
    );
    sim.audit_user(ts + 3 * MS, app2, "USER_START", bash + 9, 1005, ses, "op=PAM:session_open grantors=pam_limits,pam_unix acct=\"root\" exe=\"/usr/bin/sudo\" hostname=? addr=? terminal=/dev/pts/1 res=success");
    let rootsh = sim.audit_exec(
        ts + 9 * MS,
        app2,
        (1005, 0, ses),
        "pts1",
        bash + 9,
        "/usr/bin/bash",
        &["-bash"],
        "/root",
    );
    // 10:42 root's SSH key, the key to everything root logs in to.
    sim.audit_exec(
        ts + 66 * SEC,
        app2,
        (1005, 0, ses),
        "pts1",
        rootsh,
        "/usr/bin/ls",
        &["ls", "-la", "/root/.ssh"],
        "/root",
    );
    sim.audit_exec(
        ts + 71 * SEC,
        app2,
        (1005, 0, ses),
        "pts1",
        rootsh,
        "/usr/bin/cat",
        &["cat", "/root/.ssh/id_ed25519"],
        "/root",
    );
    sim.audit_exec(
        ts + 80 * SEC,
        app2,
        (1005, 0, ses),
        "pts1",
        rootsh,
        "/usr/bin/cat",
        &["cat", "/root/.ssh/known_hosts"],
        "/root",
    );
    sim.ssh_logout(t + 11 * MIN, app2, "jenkins", src, conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_day_is_deterministic_and_time_ordered() {
        let a = samples();
        let b = samples();
        assert_eq!(a, b);
        assert!(a.iter().any(|(p, _)| p.starts_with("baseline/")));
        assert!(a.iter().any(|(p, _)| p == "k8s/falco/alerts.json"));
    }
}

//! Scale workloads: a world sized by `hosts`, benign background, and `attacks` planted chains.
//!
//! The generator is a discrete-event simulation on event time. Background *actors* (a pod
//! calling its dependencies, a workstation's user, a cron daemon, the internet's scanners)
//! wake up at exponentially distributed intervals and write one activity each; planted chains
//! are scripted in advance. Everything goes through one priority queue ordered by time, so
//! records come out in time order and every file is written in order.
//!
//! - **Exact size.** `events` counts decoded events (an auditd event of six records is one).
//!   The chains' events are counted first; the background fills the rest and stops exactly
//!   there.
//! - **Time.** In batch mode the background runs at a density that spreads the chains over
//!   at least ten minutes plus 40 s per chain (so 5- and 10-minute detector windows see one
//!   story at a time); with a fixed `rate` (live mode) event time advances `rate` events per
//!   second and the chains' own steps are compressed to fit the span.
//! - **Benign stays below low.** Each actor has a fixed, small variety — a pod calls one to
//!   three dependencies on one port each, a user logs on to two servers, failures come one
//!   at a time from one source — so no threshold detector can be reached by the background,
//!   and no benign context combines two attack-chain groups.
//! - **Chains are alone in their context.** Each chain gets its own pod, host, logon session
//!   or source address, so its session is exactly the planted story and the expected context
//!   key is known in advance ([`Truth::context`]).
//!
//! Chain kinds, cycled in this order (so 9 attacks cover every case and detector):
//!
//! | story | where | what | expected |
//! |---|---|---|---|
//! | `comprehensive` | pod (Tetragon, Hubble) | DNS enumeration, token, IMDS, whoami/lsmod, ssh | critical |
//! | `credential_based_interactive` | Linux (auditd) | interactive SSH login, private key read | high |
//! | `reconnaissance_and_access_interactive` | Windows | RDP logon, nmap in the session | high |
//! | `credential_based` | pod | EKS web identity token, scp | medium |
//! | `reconnaissance_and_access` | pod | `nc -zv`, ssh | medium |
//! | `enumeration_with_access` | Linux (auditd) | SSH command session running id, uname | medium |
//! | `port_scan` | Zeek conn | 14 ports of one server in seconds | high `ew-port-scan` |
//! | `auth_sweep` | sshd | failed passwords on three servers | high `ew-auth-sweep` |
//! | `logon_fanout` | Windows | one account's network logons on six hosts | high `win-logon-fanout` |

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::act::{Account, Ep, LinuxHost, MS, Node, SEC, Sensor, Sim, Tcp, logon_id};
use super::format::{Channel, KprobeArg, Pod, PodSpec, WinHost, reserved_endpoint};
use super::rng::Rng;
use super::{Files, Record, Truth};
use crate::correlate::Case;
use crate::event::{Nanos, Severity};

const MIN: Nanos = 60 * SEC;

/// What to generate.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Decoded events to write, chains included.
    pub events: u64,
    /// Machines and pods in the world (at least 12).
    pub hosts: usize,
    /// Planted chains.
    pub attacks: usize,
    /// PRNG seed: the same seed gives the same bytes.
    pub seed: u64,
    /// Event time of the first record.
    pub start: Nanos,
    /// Events per second of event time; `None` chooses a density for batch output.
    pub rate: Option<f64>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            events: 100_000,
            hosts: 60,
            attacks: 9,
            seed: 1,
            // 2024-10-09T06:00:00Z: a fixed start keeps batch output reproducible.
            start: 1_728_453_600 * SEC,
            rate: None,
        }
    }
}

/// The chain stories, in the order they are planted.
pub const STORIES: [&str; 9] = [
    "comprehensive",
    "credential_based_interactive",
    "reconnaissance_and_access_interactive",
    "credential_based",
    "reconnaissance_and_access",
    "enumeration_with_access",
    "port_scan",
    "auth_sweep",
    "logon_fanout",
];

struct World {
    nodes: Vec<Node>,
    pods: Vec<Pod>,
    /// Index of each pod's dependencies (pod index, port).
    deps: Vec<Vec<(usize, u16)>>,
    /// DNS name of each pod's service (`cart.shop`).
    svc: Vec<String>,
    coredns: Pod,
    prometheus: Pod,
    world_ep: String,
    linux: Vec<LinuxHost>,
    audited: Vec<bool>,
    bastion: LinuxHost,
    ci_ip: String,
    dc: WinHost,
    fs: WinHost,
    ws: Vec<WinHost>,
    core: Sensor,
    dcseg: Sensor,
}

const CLUSTER: &str = "prod-eu1";
const REGION: &str = "eu-west-1";
const DOMAIN: &str = "corp.example.com";
const SID: &str = "S-1-5-21-1004336348-1177238915-682003330";
const DEPLOYMENTS: [(&str, &str); 14] = [
    ("shop", "frontend"),
    ("shop", "cart"),
    ("shop", "catalog"),
    ("shop", "checkout"),
    ("shop", "search"),
    ("shop", "reviews"),
    ("shop", "recommendations"),
    ("shop", "inventory"),
    ("shop", "shipping"),
    ("payments", "payments-api"),
    ("payments", "fraud-check"),
    ("notify", "notifications"),
    ("auth", "auth-api"),
    ("shop", "gateway"),
];

fn make_pod(
    rng: &Rng,
    ns: &str,
    name: &str,
    workload: &str,
    kind: &str,
    ip: &str,
    node: &Node,
) -> Pod {
    let cid = rng.hex(64);
    let digest = rng.hex(64);
    Pod::new(&PodSpec {
        cluster: CLUSTER,
        namespace: ns,
        name,
        workload,
        workload_kind: kind,
        ip,
        node: &node.name,
        image: &format!(
            "412093335051.dkr.ecr.eu-west-1.amazonaws.com/{ns}/{workload}:1.{}.{}",
            rng.below(30),
            rng.below(10)
        ),
        endpoint_id: 1000 + rng.below(3000) as u32,
        identity: 10_000 + rng.below(50_000) as u32,
        container_id: &cid,
        image_digest: &digest,
        started: "2024-10-08T19:02:11Z",
    })
}

fn deployment_pod_name(rng: &Rng, workload: &str) -> String {
    format!(
        "{workload}-{}-{}",
        rng.hex(9).replace(['a', 'e'], "b"),
        rng.k8s_suffix(5)
    )
}

impl World {
    fn new(hosts: usize, rng: &Rng) -> World {
        let hosts = hosts.max(12);
        let n_nodes = (hosts / 15).clamp(2, 40);
        let nodes: Vec<Node> = (0..n_nodes)
            .map(|i| {
                Node::new(
                    CLUSTER,
                    &format!("10.20.{}.{}", 3 + i / 200, 10 + i % 200),
                    REGION,
                )
            })
            .collect();
        let n_pods = (hosts * 2 / 5).max(5);
        let mut pods = Vec::new();
        let mut svc = Vec::new();
        for i in 0..n_pods {
            let (ns, wl) = DEPLOYMENTS[i % DEPLOYMENTS.len()];
            let node = &nodes[i % nodes.len()];
            let ip = format!("10.20.{}.{}", 64 + i / 250, 2 + i % 250);
            let name = deployment_pod_name(rng, wl);
            pods.push(make_pod(rng, ns, &name, wl, "Deployment", &ip, node));
            svc.push(format!("{wl}.{ns}"));
        }
        // Databases: StatefulSets on the last node.
        let dbnode = &nodes[nodes.len() - 1];
        for (ns, wl) in [("db", "postgres"), ("shop", "redis")] {
            let ip = format!("10.20.12.{}", 40 + pods.len() % 200);
            pods.push(make_pod(
                rng,
                ns,
                &format!("{wl}-0"),
                wl,
                "StatefulSet",
                &ip,
                dbnode,
            ));
            svc.push(format!("{wl}.{ns}"));
        }
        let n = pods.len();
        let (pg, redis) = (n - 2, n - 1);
        // Each deployment calls one to three others (fixed by the index, so stable).
        let mut deps = Vec::with_capacity(n);
        for i in 0..n {
            let mut d = Vec::new();
            if i < n - 2 {
                let k = 1 + i % 3;
                for j in 1..=k {
                    let t = (i + j * 5) % (n - 2);
                    if t != i {
                        d.push((
                            t,
                            if DEPLOYMENTS[t % DEPLOYMENTS.len()].1 == "payments-api" {
                                8443
                            } else {
                                8080
                            },
                        ));
                    }
                }
                if i % 4 == 1 {
                    d.push((pg, 5432));
                }
                if i % 5 == 2 {
                    d.push((redis, 6379));
                }
            }
            deps.push(d);
        }
        let coredns = make_pod(
            rng,
            "kube-system",
            &deployment_pod_name(rng, "coredns"),
            "coredns",
            "Deployment",
            "10.20.0.12",
            &nodes[0],
        );
        let prometheus = make_pod(
            rng,
            "monitoring",
            "prometheus-k8s-0",
            "prometheus-k8s",
            "StatefulSet",
            "10.20.0.40",
            &nodes[1 % nodes.len()],
        );

        let n_linux = (hosts / 5).max(3);
        let mut linux = Vec::new();
        let mut audited = Vec::new();
        for i in 0..n_linux {
            let name = format!("app-{:02}", i + 1);
            linux.push(LinuxHost {
                ip: format!("10.30.{}.{}", 1 + i / 250, 10 + i % 250),
                dir: format!("linux/{name}"),
                name,
            });
            audited.push(i % 3 == 1);
        }
        let n_ws = (hosts * 3 / 10).max(4);
        let ws = (0..n_ws)
            .map(|i| {
                let name = format!("WS-{:03}", i + 1);
                let agent = rng.uuid();
                WinHost::new(
                    &name,
                    DOMAIN,
                    &format!("10.1.{}.{}", 20 + i / 250, 10 + i % 250),
                    "Windows 11 Enterprise",
                    &agent,
                )
            })
            .collect();
        World {
            nodes,
            pods,
            deps,
            svc,
            coredns,
            prometheus,
            world_ep: reserved_endpoint("world"),
            linux,
            audited,
            bastion: LinuxHost {
                name: "bastion".into(),
                ip: "10.30.0.5".into(),
                dir: "linux/bastion".into(),
            },
            ci_ip: "10.30.0.9".into(),
            dc: WinHost::new(
                "DC01",
                DOMAIN,
                "10.1.1.10",
                "Windows Server 2022 Standard",
                &rng.uuid(),
            ),
            fs: WinHost::new(
                "FS01",
                DOMAIN,
                "10.1.1.20",
                "Windows Server 2022 Standard",
                &rng.uuid(),
            ),
            ws,
            core: Sensor {
                name: "corp-core".into(),
                json: false,
            },
            dcseg: Sensor {
                name: "dc-segment".into(),
                json: true,
            },
        }
    }

    fn node_of(&self, p: &Pod) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == p.node)
            .unwrap_or(&self.nodes[0])
    }
}

/// Background actors.
#[derive(Debug, Clone, Copy)]
enum Actor {
    /// A pod calling its dependencies (Hubble, VPC, DNS).
    PodCalls(usize),
    /// The load balancer's health-checked traffic to the frontends.
    Alb,
    /// Prometheus scraping pods.
    Scrape,
    /// Exec readiness probes in the databases (Tetragon).
    Probe(usize),
    /// Falco's informational alerts.
    Falco,
    /// A node pulling images and calling AWS APIs (VPC flows).
    NodeEgress(usize),
    /// A workstation's user (Sysmon, Security, Zeek).
    Workstation(usize),
    /// A Linux host's cron (syslog, auditd).
    Cron(usize),
    /// An operations engineer's SSH session through the bastion.
    Admin,
    /// The CI system deploying over SSH.
    Deploy,
    /// Internet scanners hitting the bastion's public interface (rejected).
    Internet,
}

impl Actor {
    /// Mean seconds between two activities at the natural scale (relative weights: a
    /// workstation's user is busier than a cron daemon).
    fn natural_gap(self) -> f64 {
        match self {
            Actor::PodCalls(_) => 45.0,
            Actor::Alb => 8.0,
            Actor::Scrape => 15.0,
            Actor::Probe(_) => 90.0,
            Actor::Falco => 900.0,
            Actor::NodeEgress(_) => 60.0,
            Actor::Workstation(_) => 12.0,
            Actor::Cron(_) => 120.0,
            Actor::Admin => 1800.0,
            Actor::Deploy => 2700.0,
            Actor::Internet => 300.0,
        }
    }
}

/// Mean events one activity of each actor writes, measured by running a few activities on a
/// scratch generator, so the event-time density (and a live `--rate`) comes out as asked
/// whatever the activities write. Records later than `horizon` after their activity (an SSH
/// logout minutes after the login) are not counted: in a run that short they fall after the
/// end.
fn calibrate(world: &World, actors: &[Actor], seed: u64, horizon: Nanos) -> Vec<f64> {
    const RUNS: i64 = 16;
    let mut scratch = Sim::new(seed ^ 0xca11_b7a7e, "000000000000", "calibration.log");
    actors
        .iter()
        .map(|a| {
            let mut n = 0u64;
            for k in 0..RUNS {
                let t = (k + 1) * 3600 * SEC;
                background(&mut scratch, world, *a, t);
                n += scratch
                    .take()
                    .iter()
                    .filter(|r| r.ts - t <= horizon)
                    .map(|r| u64::from(r.events))
                    .sum::<u64>();
            }
            (n as f64 / RUNS as f64).max(0.1)
        })
        .collect()
}

#[derive(Debug)]
enum Item {
    Wake(Nanos, u64, usize),
    Rec(Record, bool),
}

impl Item {
    fn key(&self) -> (Nanos, u64) {
        match self {
            Item::Wake(t, s, _) => (*t, *s),
            Item::Rec(r, _) => (r.ts, r.seq),
        }
    }
}

impl PartialEq for Item {
    fn eq(&self, o: &Self) -> bool {
        self.key() == o.key()
    }
}
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Item {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key().cmp(&o.key())
    }
}

/// A workload being generated: call [`Workload::next_record`] until it returns `None`.
#[derive(Debug)]
pub struct Workload {
    sim: Sim,
    world_seed: u64,
    actors: Vec<(Actor, f64)>,
    heap: BinaryHeap<Reverse<ItemBox>>,
    truth: Vec<Truth>,
    seq: u64,
    bg_budget: u64,
    bg_written: u64,
    written: u64,
    start: Nanos,
    span: Nanos,
    world: WorldBox,
}

/// Boxing keeps `Workload`'s `Debug` short.
struct WorldBox(World);

impl std::fmt::Debug for WorldBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World")
    }
}

#[derive(Debug)]
struct ItemBox(Item);

impl PartialEq for ItemBox {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for ItemBox {}
impl PartialOrd for ItemBox {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ItemBox {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

impl Workload {
    /// Plan a workload: build the world, script the chains, schedule the background.
    pub fn new(cfg: &WorkloadConfig) -> Workload {
        let rng = Rng::new(cfg.seed);
        let world = World::new(cfg.hosts, &rng.fork(1));
        let mut sim = Sim::new(
            cfg.seed ^ 0x5eed,
            "412093335051",
            "412093335051_vpcflowlogs_eu-west-1_fl-0c5a7e19d3b2f4a68_workload.log",
        );
        // Actors and their natural rates.
        let mut actors: Vec<Actor> = Vec::new();
        for i in 0..world.pods.len() - 2 {
            actors.push(Actor::PodCalls(i));
        }
        actors.extend([
            Actor::Alb,
            Actor::Scrape,
            Actor::Falco,
            Actor::Admin,
            Actor::Deploy,
            Actor::Internet,
        ]);
        for i in 0..world.pods.len() {
            actors.push(Actor::Probe(i));
        }
        for i in 0..world.nodes.len() {
            actors.push(Actor::NodeEgress(i));
        }
        for i in 0..world.ws.len() {
            actors.push(Actor::Workstation(i));
        }
        for i in 0..world.linux.len() {
            actors.push(Actor::Cron(i));
        }
        // Chains first: their events are counted before the background's budget.
        let k = cfg.attacks;
        let min_span = (10 * MIN + k as i64 * 40 * SEC) as f64 / SEC as f64;
        let chain_estimate = (k as u64) * 40;
        let budget = cfg.events.saturating_sub(chain_estimate).max(1);
        // An activity in the middle of a live run has half the run left for its late records.
        let horizon = match cfg.rate {
            Some(r) if r > 0.0 => (budget as f64 / r / 2.0 * SEC as f64) as Nanos,
            _ => Nanos::MAX / 4,
        };
        let per_activity = calibrate(&world, &actors, cfg.seed, horizon);
        let natural_rate: f64 = actors
            .iter()
            .zip(&per_activity)
            .map(|(a, e)| e / a.natural_gap())
            .sum();
        let (rate, span_secs) = match cfg.rate {
            Some(r) if r > 0.0 => (r, budget as f64 / r),
            _ => {
                // A busy company: eight times the natural pace.
                let natural_span = budget as f64 / (natural_rate * 8.0);
                let span = natural_span.max(min_span);
                (budget as f64 / span, span)
            }
        };
        let span = (span_secs * SEC as f64) as Nanos;
        // Chains run at their own pace when there is room, compressed in short live runs.
        let tempo = (span_secs / (k.max(1) as f64 * 600.0)).clamp(0.005, 1.0);
        let mut truth = Vec::with_capacity(k);
        let mut chain_records: Vec<Record> = Vec::new();
        let chain_rng = rng.fork(2);
        for j in 0..k {
            let at = cfg.start
                + (span as f64 * (0.05 + 0.8 * (j as f64 + 0.5) / k.max(1) as f64)) as Nanos;
            let story = STORIES[j % STORIES.len()];
            let (t, fires_at) = plant(&mut sim, &world, &chain_rng, j, story, at, tempo);
            let recs = sim.take();
            let events: u64 = recs.iter().map(|r| u64::from(r.events)).sum();
            let first = recs.iter().map(|r| r.ts).min().unwrap_or(at);
            let last = recs.iter().map(|r| r.ts).max().unwrap_or(at);
            truth.push(Truth {
                events,
                first_seen: first,
                last_seen: last,
                fires_at,
                ..t
            });
            chain_records.extend(recs);
        }
        let chain_events: u64 = truth.iter().map(|t| t.events).sum();
        let bg_budget = cfg.events.saturating_sub(chain_events);

        let scale = natural_rate / rate; // > 1: slower than natural
        let actors: Vec<(Actor, f64)> = actors
            .into_iter()
            .map(|a| (a, a.natural_gap() * scale * SEC as f64))
            .collect();
        let mut heap = BinaryHeap::with_capacity(actors.len() + chain_records.len());
        let mut seq = 0u64;
        for (i, (_, gap)) in actors.iter().enumerate() {
            seq += 1;
            // Activities are written 5 s after their wake-up (see `next_record`).
            let first = cfg.start - 5 * SEC + sim.rng.exp_gap(*gap);
            heap.push(Reverse(ItemBox(Item::Wake(first, seq, i))));
        }
        for mut r in chain_records {
            seq += 1;
            r.seq = seq;
            heap.push(Reverse(ItemBox(Item::Rec(r, true))));
        }
        Workload {
            sim,
            world_seed: cfg.seed,
            actors,
            heap,
            truth,
            seq,
            bg_budget,
            bg_written: 0,
            written: 0,
            start: cfg.start,
            span,
            world: WorldBox(world),
        }
    }

    /// Every file the workload writes (ids are stable once a record names them).
    pub fn files(&self) -> &Files {
        &self.sim.files
    }

    /// The planted chains.
    pub fn truth(&self) -> &[Truth] {
        &self.truth
    }

    /// Event time of the first record.
    pub fn start(&self) -> Nanos {
        self.start
    }

    /// Planned event-time span of the background.
    pub fn span(&self) -> Nanos {
        self.span
    }

    /// Events produced so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The next record in time order, or `None` when the workload is complete.
    pub fn next_record(&mut self) -> Option<Record> {
        loop {
            let Reverse(ItemBox(item)) = self.heap.pop()?;
            match item {
                Item::Rec(r, chain) => {
                    if !chain {
                        // The budget is spent, or the record (a line some activities write
                        // just before their own time) falls before the workload's start.
                        if self.bg_written >= self.bg_budget || r.ts < self.start {
                            continue;
                        }
                        self.bg_written += u64::from(r.events);
                    }
                    self.written += u64::from(r.events);
                    return Some(r);
                }
                Item::Wake(t, _, i) => {
                    if self.bg_written >= self.bg_budget {
                        continue;
                    }
                    let (actor, gap) = self.actors[i];
                    // Activities are written from 5 s after the wake-up, so none of their
                    // records (some start a little before the activity's time) is older
                    // than what was already emitted.
                    background(&mut self.sim, &self.world.0, actor, t + 5 * SEC);
                    for mut r in self.sim.take() {
                        self.seq += 1;
                        r.seq = self.seq;
                        self.heap.push(Reverse(ItemBox(Item::Rec(r, false))));
                    }
                    self.seq += 1;
                    let next = t + self.sim.rng.exp_gap(gap);
                    self.heap
                        .push(Reverse(ItemBox(Item::Wake(next, self.seq, i))));
                }
            }
        }
    }

    /// The seed the workload was made with.
    pub fn seed(&self) -> u64 {
        self.world_seed
    }
}

// ---------------------------------------------------------------------------------------
// Background

fn background(sim: &mut Sim, w: &World, actor: Actor, t: Nanos) {
    match actor {
        Actor::PodCalls(i) => {
            let client = &w.pods[i];
            let deps = &w.deps[i];
            if deps.is_empty() {
                return;
            }
            let (d, port) = deps[sim.rng.below(deps.len() as u64) as usize];
            let server = &w.pods[d];
            let node = w.node_of(client);
            if sim.rng.chance(0.3) {
                let q = format!("{}.svc.cluster.local", w.svc[d]);
                sim.hubble_dns(
                    t - 3 * MS,
                    node,
                    client,
                    Ep::pod(&w.coredns),
                    &q,
                    Some(&server.ip),
                );
            }
            let sport = sim.eport();
            let dur = (1 + sim.rng.below(60) as i64) * SEC;
            sim.hubble_tcp(
                t,
                node,
                Ep::pod(client),
                Ep::pod(server),
                sport,
                port,
                Tcp::Open(dur),
            );
            if client.node != server.node && sim.rng.chance(0.5) {
                let eni = eni_of(node);
                let pk = 6 + sim.rng.below(40);
                sim.vpc(
                    t,
                    &eni,
                    (&client.ip, sport),
                    (&server.ip, port),
                    6,
                    pk,
                    true,
                );
            }
        }
        Actor::Alb => {
            let fronts: Vec<&Pod> = w
                .pods
                .iter()
                .filter(|p| p.workload == "frontend" || p.workload == "gateway")
                .collect();
            let Some(fe) = fronts.get(sim.rng.below(fronts.len() as u64) as usize) else {
                return;
            };
            let alb = ["10.20.1.23", "10.20.2.41"][sim.rng.below(2) as usize];
            let sport = sim.eport();
            sim.hubble_tcp(
                t,
                w.node_of(fe),
                Ep {
                    json: &w.world_ep,
                    ip: alb,
                    name: None,
                },
                Ep::pod(fe),
                sport,
                3000,
                Tcp::Open(61 * SEC),
            );
            let pk = 20 + sim.rng.below(100);
            sim.vpc(
                t,
                &eni_of(w.node_of(fe)),
                (alb, sport),
                (&fe.ip, 3000),
                6,
                pk,
                true,
            );
        }
        Actor::Scrape => {
            let i = sim.rng.below((w.pods.len()) as u64) as usize;
            let target = &w.pods[i];
            let port = if target.workload == "postgres" {
                9187
            } else if target.workload == "redis" {
                9121
            } else {
                9090
            };
            let sport = sim.eport();
            sim.hubble_tcp(
                t,
                w.node_of(&w.prometheus),
                Ep::pod(&w.prometheus),
                Ep::pod(target),
                sport,
                port,
                Tcp::Open(14 * MIN),
            );
        }
        Actor::Probe(i) => {
            // Exec probes run through the container runtime, so Tetragon sees each one.
            let p = &w.pods[i];
            let node = w.node_of(p);
            let init = sim.pod_init(node, p, "/usr/bin/runc", "init", t - 3600 * SEC);
            if p.workload == "postgres" || p.workload == "redis" {
                let (script, cli, args) = if p.workload == "postgres" {
                    (
                        "/opt/bitnami/scripts/postgresql/healthcheck.sh",
                        "/opt/bitnami/postgresql/bin/pg_isready",
                        "-U postgres -h 127.0.0.1 -p 5432",
                    )
                } else {
                    (
                        "/opt/bitnami/scripts/ping_readiness_local.sh",
                        "/opt/bitnami/redis/bin/redis-cli",
                        "-h localhost -p 6379 ping",
                    )
                };
                let sh = sim.exec(t, node, p, &init, script, "1");
                let c = sim.exec(t + 3 * MS, node, p, &sh, cli, args);
                sim.exit(t + 9 * MS, node, p, &c, &sh, 0);
                sim.exit(t + 11 * MS, node, p, &sh, &init, 0);
            } else {
                let c = sim.exec(t, node, p, &init, "/bin/grpc_health_probe", "-addr=:8080");
                sim.exit(t + 4 * MS, node, p, &c, &init, 0);
            }
        }
        Actor::Falco => {
            let p = &w.prometheus;
            sim.falco(
                t,
                w.node_of(p),
                p,
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
                (
                    "prometheus",
                    "/bin/prometheus",
                    "prometheus --config.file=/etc/prometheus/config_out/prometheus.env.yaml",
                    "containerd-shim",
                ),
                "connect",
                Some("10.20.0.40:51744->172.20.0.1:443"),
            );
        }
        Actor::NodeEgress(i) => {
            let node = &w.nodes[i];
            let sport = sim.eport();
            let dst = ["52.95.150.2", "3.5.64.120", "52.218.24.197"][sim.rng.below(3) as usize];
            let pk = 20 + sim.rng.below(80);
            sim.vpc(t, &eni_of(node), (&node.ip, sport), (dst, 443), 6, pk, true);
            let pk = 30 + sim.rng.below(300);
            sim.vpc(t, &eni_of(node), (dst, 443), (&node.ip, sport), 6, pk, true);
        }
        Actor::Workstation(i) => workstation(sim, w, i, t),
        Actor::Cron(i) => {
            let h = &w.linux[i];
            sim.cron(
                t,
                h,
                "root",
                0,
                "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
            );
            if w.audited[i] {
                let ses = sim.session(&h.name);
                let pid = sim.pid(&h.name);
                let inner = |op: &str| {
                    format!(
                        "op={op} acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success"
                    )
                };
                sim.audit_user(t + MS, h, "USER_START", pid, 0, ses, &inner("PAM:session_open grantors=pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits"));
                sim.audit_exec(
                    t + 5 * MS,
                    h,
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
                sim.audit_user(t + 800 * MS, h, "USER_END", pid, 0, ses, &inner("PAM:session_close grantors=pam_loginuid,pam_env,pam_permit,pam_unix,pam_limits"));
            }
        }
        Actor::Admin => {
            let i = sim.rng.below(w.linux.len() as u64) as usize;
            let h = &w.linux[i];
            let b = &w.bastion;
            let hop = sim.ssh_login(t - 31 * SEC, b, "ops", 1001, "10.8.0.14", "publickey", None);
            let conn = sim.ssh_login(
                t,
                h,
                "ops",
                1001,
                &b.ip,
                "publickey",
                w.audited[i].then_some(true),
            );
            sim.sudo(
                t + 47 * SEC,
                h,
                "ops",
                1001,
                "pts/0",
                "/home/ops",
                "/usr/bin/systemctl status nginx",
            );
            sim.ssh_logout(t + 4 * MIN, h, "ops", &b.ip, conn);
            sim.ssh_logout(t + 4 * MIN + 4 * SEC, b, "ops", "10.8.0.14", hop);
        }
        Actor::Deploy => {
            for (i, h) in w.linux.iter().enumerate().take(6) {
                let ts = t + i as i64 * 19 * SEC;
                let conn = sim.ssh_login(
                    ts,
                    h,
                    "deploy",
                    1002,
                    &w.ci_ip,
                    "publickey",
                    w.audited[i].then_some(false),
                );
                sim.sudo(
                    ts + 9 * SEC,
                    h,
                    "deploy",
                    1002,
                    "unknown",
                    "/home/deploy",
                    "/usr/bin/systemctl restart orders",
                );
                sim.ssh_logout(ts + 12 * SEC, h, "deploy", &w.ci_ip, conn);
            }
        }
        Actor::Internet => {
            // One scanner, one or two ports, at most one of them an admin port.
            let ip = format!(
                "{}.{}.{}.{}",
                45 + sim.rng.below(150),
                sim.rng.below(256),
                sim.rng.below(256),
                1 + sim.rng.below(254)
            );
            let ports: &[u16] = [
                &[22u16, 2222][..],
                &[23, 8080],
                &[3389],
                &[445, 6379],
                &[5900],
                &[8443, 9200],
            ][sim.rng.below(6) as usize];
            for (j, port) in ports.iter().enumerate() {
                let sport = 40_000 + sim.rng.below(20_000) as u16;
                sim.vpc(
                    t + j as i64 * 2 * SEC,
                    "eni-04d6a2c9e1b7f3058",
                    (&ip, sport),
                    ("10.20.0.5", *port),
                    6,
                    1,
                    false,
                );
            }
        }
    }
}

fn workstation(sim: &mut Sim, w: &World, i: usize, t: Nanos) {
    let ws = &w.ws[i];
    let name = format!("user{:03}", i + 1);
    let user = format!("CORP\\{name}");
    let usid = format!("{SID}-{}", 2000 + i);
    let sport = sim.wport();
    match sim.rng.below(5) {
        0 => sim.sysmon_network(
            t,
            ws,
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
            &user,
            (&ws.ip, sport),
            ("52.97.183.130", 443, "outlook.office365.com"),
            true,
        ),
        1 => {
            let p = sim.win_guid(ws, t - 3600 * SEC);
            sim.sysmon_process(
                t,
                ws,
                "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
                "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" --type=renderer",
                &user,
                "0x3a1f9",
                (
                    &p,
                    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
                    "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\" ",
                ),
                "Medium",
            );
        }
        2 => {
            sim.sysmon_network(
                t,
                ws,
                "C:\\Windows\\System32\\svchost.exe",
                "NT AUTHORITY\\NETWORK SERVICE",
                (&ws.ip, sport),
                (&w.dc.ip, 389, "DC01.corp.example.com"),
                true,
            );
            let uid = sim.zeek_uid();
            sim.zeek_conn(
                &w.dcseg,
                t,
                &uid,
                (&ws.ip, sport),
                (&w.dc.ip, 389),
                false,
                Some("ldap_tcp"),
                "SF",
                120 * MS,
                (1432, 3311),
            );
        }
        3 => {
            let who = Account {
                domain: "CORP",
                name: &name,
                sid: &usid,
            };
            let uid = sim.zeek_uid();
            sim.zeek_conn(
                &w.core,
                t,
                &uid,
                (&ws.ip, sport),
                (&w.fs.ip, 445),
                false,
                Some("smb,gssapi,krb"),
                "SF",
                40 * SEC,
                (18_233, 402_991),
            );
            let fid = logon_id(0x5_0000 + sim.rng.below(0xfffff));
            sim.logon(
                t + 30 * MS,
                &w.fs,
                who,
                3,
                &fid,
                Some((&ws.ip, &ws.name)),
                "Kerberos",
                None,
            );
            sim.share_access(
                t + 80 * MS,
                &w.fs,
                who,
                &fid,
                &ws.ip,
                "Shared",
                "D:\\Shares\\Shared",
                None,
            );
            sim.logoff(t + 40 * SEC, &w.fs, who, 3, &fid);
        }
        _ => {
            let uid = sim.zeek_uid();
            let ip = format!("::ffff:{}", ws.ip);
            let port = sport.to_string();
            sim.zeek_conn(
                &w.dcseg,
                t,
                &uid,
                (&ws.ip, sport),
                (&w.dc.ip, 88),
                false,
                Some("krb_tcp"),
                "SF",
                4 * MS,
                (1_421, 1_388),
            );
            let upn = format!("{name}@CORP.EXAMPLE.COM");
            sim.win(
                t + 2 * MS,
                &w.dc,
                Channel::Security,
                4769,
                "kerberos-service-ticket-requested",
                Some("success"),
                "A Kerberos service ticket was requested.",
                &[
                    ("TargetUserName", &upn),
                    ("TargetDomainName", "CORP.EXAMPLE.COM"),
                    ("ServiceName", "FS01$"),
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

fn eni_of(n: &Node) -> String {
    format!("eni-0{:016x}", crate::event::fnv1a(n.ip.as_bytes()) >> 4)
}

// ---------------------------------------------------------------------------------------
// Chains

#[allow(clippy::too_many_arguments)] // one argument per ground-truth column
fn truth(
    chain: usize,
    story: &str,
    context: String,
    case: Option<Case>,
    severity: Severity,
    rule_id: &str,
    rules: &[&str],
    description: String,
) -> Truth {
    Truth {
        chain,
        story: story.to_string(),
        context,
        case,
        severity,
        rule_id: rule_id.to_string(),
        rules: rules.iter().map(|r| (*r).to_string()).collect(),
        first_seen: 0,
        last_seen: 0,
        fires_at: 0,
        events: 0,
        description,
    }
}

/// Script chain `j` of kind `story` starting at `at`; its records go to `sim.out`. Returns
/// the expected session and the event time of the event that completes it.
fn plant(
    sim: &mut Sim,
    w: &World,
    rng: &Rng,
    j: usize,
    story: &str,
    at: Nanos,
    tempo: f64,
) -> (Truth, Nanos) {
    // Step `s` seconds into the chain, compressed by the tempo.
    let step = |s: f64| at + (s * tempo * SEC as f64) as Nanos;
    let chain_ip = |net: u32| format!("10.{net}.{}.{}", 200 + j / 250, 10 + j % 250);
    match story {
        "comprehensive" | "credential_based" | "reconnaissance_and_access" => {
            let node = &w.nodes[j % w.nodes.len()];
            let (ns, wl) = DEPLOYMENTS[j % DEPLOYMENTS.len()];
            let name = deployment_pod_name(rng, wl);
            let ip = format!("10.20.{}.{}", 180 + j / 250, 10 + j % 250);
            let p = make_pod(rng, ns, &name, wl, "Deployment", &ip, node);
            let runc = sim.pod_init(node, &p, "/usr/bin/runc", "exec", at - 10 * SEC);
            let sh = sim.exec(step(0.0), node, &p, &runc, "/bin/sh", "");
            let target = &w.pods[w.pods.len() - 2];
            let ctx = format!("pod:{ns}/{name}");
            match story {
                "comprehensive" => {
                    let names = [
                        "kubernetes.default",
                        "api.shop",
                        "admin.shop",
                        "vault.vault",
                        "postgres.db",
                        "redis.shop",
                        "jenkins.ci",
                        "grafana.monitoring",
                        "argocd-server.argocd",
                        "etcd.kube-system",
                        "payments-api.payments",
                        "mysql.db",
                    ];
                    for (k, n) in names.iter().enumerate() {
                        let q = format!("{n}.svc.cluster.local");
                        sim.hubble_dns(
                            step(5.0 + k as f64 * 2.0),
                            node,
                            &p,
                            Ep::pod(&w.coredns),
                            &q,
                            None,
                        );
                    }
                    let c = sim.exec(
                        step(40.0),
                        node,
                        &p,
                        &sh,
                        "/bin/cat",
                        "/var/run/secrets/kubernetes.io/serviceaccount/token",
                    );
                    sim.kprobe(
                        step(40.01),
                        node,
                        &p,
                        &c,
                        &sh,
                        &KprobeArg::FileRead("/var/run/secrets/kubernetes.io/serviceaccount/token"),
                    );
                    let cu = sim.exec(
                        step(55.0),
                        node,
                        &p,
                        &sh,
                        "/usr/bin/curl",
                        "-s http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                    );
                    let sport = sim.eport();
                    sim.kprobe(
                        step(55.01),
                        node,
                        &p,
                        &cu,
                        &sh,
                        &KprobeArg::Connect(&p.ip, sport, "169.254.169.254", 80),
                    );
                    sim.exec(step(70.0), node, &p, &sh, "/usr/bin/whoami", "");
                    sim.exec(step(72.0), node, &p, &sh, "/sbin/lsmod", "");
                    sim.exec(
                        step(95.0),
                        node,
                        &p,
                        &sh,
                        "/usr/bin/ssh",
                        &format!(
                            "-o StrictHostKeyChecking=no root@{}",
                            w.nodes[w.nodes.len() - 1].ip
                        ),
                    );
                    (
                        truth(
                            j,
                            story,
                            ctx,
                            Some(Case::Comprehensive),
                            Severity::Critical,
                            "lateral-movement-chain",
                            &[
                                "nr-k8s-dns-enumeration",
                                "ch-k8s-service-account-token",
                                "ch-cloud-metadata",
                                "se-discovery-commands",
                                "ra-ssh-outbound",
                            ],
                            format!(
                                "pod {ns}/{name}: DNS enumeration, service account token, IMDS, whoami/lsmod, then ssh"
                            ),
                        ),
                        step(95.0),
                    )
                }
                "credential_based" => {
                    sim.exec(
                        step(10.0),
                        node,
                        &p,
                        &sh,
                        "/bin/cat",
                        "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
                    );
                    sim.exec(
                        step(60.0),
                        node,
                        &p,
                        &sh,
                        "/usr/bin/scp",
                        &format!("/tmp/.t ops@{}:/tmp/", target.ip),
                    );
                    (
                        truth(
                            j,
                            story,
                            ctx,
                            Some(Case::CredentialBased),
                            Severity::Medium,
                            "lateral-movement-chain",
                            &["ch-k8s-service-account-token", "ra-ssh-outbound"],
                            format!(
                                "pod {ns}/{name}: EKS web identity token read, then scp to another machine"
                            ),
                        ),
                        step(60.0),
                    )
                }
                _ => {
                    sim.exec(
                        step(10.0),
                        node,
                        &p,
                        &sh,
                        "/usr/bin/nc",
                        &format!("-zv {} 22", target.ip),
                    );
                    sim.exec(
                        step(45.0),
                        node,
                        &p,
                        &sh,
                        "/usr/bin/ssh",
                        &format!("ops@{}", target.ip),
                    );
                    (
                        truth(
                            j,
                            story,
                            ctx,
                            Some(Case::ReconnaissanceAndAccess),
                            Severity::Medium,
                            "lateral-movement-chain",
                            &["nr-scanner", "ra-ssh-outbound"],
                            format!("pod {ns}/{name}: nc port check, then ssh"),
                        ),
                        step(45.0),
                    )
                }
            }
        }
        "credential_based_interactive" | "enumeration_with_access" => {
            let h = LinuxHost {
                name: format!("db-{:02}", j + 1),
                ip: chain_ip(30),
                dir: format!("linux/db-{:02}", j + 1),
            };
            let from = format!("10.30.{}.{}", 150 + j / 250, 10 + j % 250);
            let interactive = story == "credential_based_interactive";
            let conn = sim.ssh_login(
                step(0.0),
                &h,
                "svc-app",
                1010,
                &from,
                if interactive { "password" } else { "publickey" },
                Some(interactive),
            );
            let ses = conn.1;
            let ctx = format!("linux:{}:ses:{ses}", h.name);
            let tty = if interactive { "pts0" } else { "(none)" };
            if interactive {
                let bash = sim.audit_exec(
                    step(2.0),
                    &h,
                    (1010, 1010, ses),
                    tty,
                    conn.0 + 1,
                    "/usr/bin/bash",
                    &["-bash"],
                    "/home/svc-app",
                );
                sim.audit_exec(
                    step(50.0),
                    &h,
                    (1010, 1010, ses),
                    tty,
                    bash,
                    "/usr/bin/cat",
                    &["cat", "/home/svc-app/.ssh/id_rsa"],
                    "/home/svc-app",
                );
                sim.ssh_logout(step(120.0), &h, "svc-app", &from, conn);
                (
                    truth(
                        j,
                        story,
                        ctx,
                        Some(Case::CredentialBasedInteractive),
                        Severity::High,
                        "lateral-movement-chain",
                        &["ra-ssh-accepted", "ch-ssh-private-key"],
                        format!(
                            "{}: interactive SSH login from {from}, private key read",
                            h.name
                        ),
                    ),
                    step(50.0),
                )
            } else {
                sim.audit_exec(
                    step(1.0) + 40 * MS,
                    &h,
                    (1010, 1010, ses),
                    tty,
                    conn.0 + 1,
                    "/usr/bin/id",
                    &["id"],
                    "/home/svc-app",
                );
                sim.audit_exec(
                    step(1.5) + 40 * MS,
                    &h,
                    (1010, 1010, ses),
                    tty,
                    conn.0 + 1,
                    "/usr/bin/uname",
                    &["uname", "-a"],
                    "/home/svc-app",
                );
                sim.ssh_logout(step(3.0) + 40 * MS, &h, "svc-app", &from, conn);
                (
                    truth(
                        j,
                        story,
                        ctx,
                        Some(Case::EnumerationWithAccess),
                        Severity::Medium,
                        "lateral-movement-chain",
                        &["ra-ssh-accepted", "se-discovery-commands"],
                        format!(
                            "{}: SSH command session from {from} running id and uname",
                            h.name
                        ),
                    ),
                    step(1.0) + 40 * MS,
                )
            }
        }
        "reconnaissance_and_access_interactive" => {
            let name = format!("WS-R{j:02}");
            let ws = WinHost::new(
                &name,
                DOMAIN,
                &chain_ip(1),
                "Windows 11 Enterprise",
                &rng.uuid(),
            );
            let lid = logon_id(0x51_0000 + j as u64 * 0x1f3);
            let usid = format!("{SID}-{}", 3000 + j);
            let who = Account {
                domain: "CORP",
                name: "helpdesk2",
                sid: &usid,
            };
            let from = chain_ip(8);
            sim.logon(
                step(0.0),
                &ws,
                who,
                10,
                &lid,
                Some((&from, "-")),
                "Negotiate",
                None,
            );
            let explorer = sim.sysmon_process(
                step(8.0),
                &ws,
                "C:\\Windows\\explorer.exe",
                "C:\\Windows\\Explorer.EXE",
                "CORP\\helpdesk2",
                &lid,
                (
                    "{00000000-0000-0000-0000-000000000000}",
                    "C:\\Windows\\System32\\userinit.exe",
                    "C:\\Windows\\system32\\userinit.exe",
                ),
                "Medium",
            );
            sim.sysmon_process(
                step(90.0),
                &ws,
                "C:\\Program Files (x86)\\Nmap\\nmap.exe",
                "nmap  -sT -p 22,445,3389,5985 10.1.1.0/24",
                "CORP\\helpdesk2",
                &lid,
                (
                    &explorer,
                    "C:\\Windows\\explorer.exe",
                    "C:\\Windows\\Explorer.EXE",
                ),
                "Medium",
            );
            (
                truth(
                    j,
                    story,
                    format!("win:{}:logon:{lid}", name.to_ascii_lowercase()),
                    Some(Case::ReconnaissanceAndAccessInteractive),
                    Severity::High,
                    "lateral-movement-chain",
                    &["win-rdp-logon", "nr-scanner"],
                    format!("{name}: RDP logon from {from}, nmap run in the session"),
                ),
                step(90.0),
            )
        }
        "port_scan" => {
            let src = chain_ip(30);
            let ports: [u16; 14] = [
                21, 22, 23, 25, 53, 80, 110, 139, 143, 443, 3306, 5900, 8080, 8443,
            ];
            for (k, port) in ports.iter().enumerate() {
                let uid = sim.zeek_uid();
                let sport = sim.eport();
                let open = matches!(port, 53 | 139);
                sim.zeek_conn(
                    &w.core,
                    step(k as f64 * 0.4),
                    &uid,
                    (&src, sport),
                    (&w.fs.ip, *port),
                    false,
                    None,
                    if open { "RSTO" } else { "REJ" },
                    2 * MS,
                    (0, 0),
                );
            }
            (
                truth(
                    j,
                    story,
                    format!("ip:{src}"),
                    None,
                    Severity::High,
                    "ew-port-scan",
                    &["ew-port-scan"],
                    format!("{src} connects to 14 ports of FS01 within seconds"),
                ),
                step(4.0),
            )
        }
        "auth_sweep" => {
            let src = chain_ip(30);
            for k in 0..3 {
                let h = &w.linux[(j + k) % w.linux.len()];
                sim.ssh_fail(
                    step(5.0 + k as f64 * 30.0),
                    h,
                    ["admin", "oracle", "postgres"][k],
                    &src,
                    k == 0,
                );
            }
            (
                truth(
                    j,
                    story,
                    format!("ip:{src}"),
                    None,
                    Severity::High,
                    "ew-auth-sweep",
                    &["ew-auth-sweep", "auth-failures-multiple-hosts"],
                    format!("{src} fails SSH passwords on three servers"),
                ),
                step(65.0) - 2 * MS,
            )
        }
        _ => {
            // logon_fanout: one account's Kerberos network logons on six machines.
            let name = format!("WS-F{j:02}");
            let ws = WinHost::new(
                &name,
                DOMAIN,
                &chain_ip(1),
                "Windows 11 Enterprise",
                &rng.uuid(),
            );
            let usid = format!("{SID}-{}", 4000 + j);
            let who = Account {
                domain: "CORP",
                name: "svc_deploy",
                sid: &usid,
            };
            let sport = sim.wport();
            sim.sysmon_network(
                step(0.0),
                &ws,
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                "CORP\\svc_deploy",
                (&ws.ip, sport),
                (&w.fs.ip, 445, "FS01.corp.example.com"),
                true,
            );
            // FS01, DC01 and four workstations (the world has at least four).
            let mut targets: Vec<&WinHost> = vec![&w.fs, &w.dc];
            targets.extend((0..4).map(|k| &w.ws[(j + k) % w.ws.len()]));
            for (k, target) in targets.iter().enumerate() {
                let lid = logon_id(0x61_0000 + (j * 16 + k) as u64 * 0x2b);
                sim.logon(
                    step(10.0 + k as f64 * 20.0),
                    target,
                    who,
                    3,
                    &lid,
                    Some((&ws.ip, &name)),
                    "Kerberos",
                    None,
                );
            }
            (
                truth(
                    j,
                    story,
                    format!("host:{}", name.to_ascii_lowercase()),
                    None,
                    Severity::High,
                    "win-logon-fanout",
                    &["win-logon-fanout"],
                    format!("svc_deploy from {name} logs on over the network to six hosts"),
                ),
                step(110.0),
            )
        }
    }
}

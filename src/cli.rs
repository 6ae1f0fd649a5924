//! The command line: argument parsing, the headless commands and their printers.
//!
//! Exit codes, for scripts: 0 success; 1 some input could not be read (the rest was still
//! processed); 2 usage error; 3 `--fail-on` threshold reached (hunt).

pub mod agent;
pub mod bench;
pub mod case;
pub mod demo;
mod events;
pub mod hub;
pub mod hunt;
pub mod index;
pub mod nats;
pub mod output;
pub mod pipeline;
mod remote;
pub mod rules;
mod screen;
pub mod search;
pub mod simulate;
pub mod tail;
pub mod watch;
pub mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::event::{Cidr, Severity};

const EXAMPLES: &str = "\
Examples:
  lateral events samples/                      normalized events of every file, as JSON lines
  lateral events /var/log/auth.log --output table
  lateral events Security.evtx --limit 20
  lateral events zeek/ --format zeek-tsv       force a format instead of detecting it
  lateral formats                              list the formats lateral reads
  lateral hunt samples/                        correlate files and list sessions by severity
  lateral hunt logs/ --output jsonl --min-severity medium --fail-on high
  lateral tail /var/log/zeek/ --include '*.log' --stats   follow live logs across rotation
  lateral index logs/ --workspace ws/          index every event for searching
  lateral search 'user.name:pgustavo AND event.code:4624' --workspace ws/ --since 2h
  lateral hunt evtx/ --sigma sigma/rules/windows/  also run community Sigma rules
  lateral rules list --sigma sigma/rules/       every rule: loaded, unsupported (why), invalid
  lateral rules lint my-rules/                  report invalid rules (exit 1 if any)
  lateral rules test rule.yml Security.evtx     which events match a rule, and why (not)
  lateral simulate --out /tmp/w --events 1000000  a million events with planted attack chains
  lateral bench --events 1000000               decode, correlate and live-latency numbers
";

/// Hunt lateral movement in security logs, live, from the terminal.
#[derive(Debug, Parser)]
#[command(name = "lateral", version, about, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode log files into normalized events (JSON lines or a table).
    ///
    /// Reads files, directories (recursively), .gz files and .zip members; detects each
    /// file's format from its name and first bytes. A summary per file goes to stderr.
    #[command(
        after_help = "Exit status: 0 every file was read; 1 some file could not be read; 2 usage error."
    )]
    Events(EventsArgs),
    /// List the log formats lateral reads, with the names `--format` accepts.
    Formats,
    /// Correlate files in batch: attack-chain cases, east-west baselines, Windows rules.
    ///
    /// Files are merged by event time, so the sessions are the ones a live tail of the same
    /// files would report. Sessions go to stdout, most severe first; a summary to stderr.
    #[command(
        after_help = "Exit status: 0 done; 1 some input could not be read; 2 usage error; 3 a session at or above --fail-on was found."
    )]
    Hunt(HuntArgs),
    /// Triage cases: open a case from sessions, step through its checklist, add notes.
    Case(CaseArgs),
    /// Incident report of a case, or of every case and open session at medium or above.
    Report(ReportArgs),
    /// Follow log directories live and stream normalized events as they are written.
    ///
    /// Files are followed across rotation (rename, copytruncate, delete, compressed copies)
    /// and resume from the workspace's checkpoints after a restart; every event keeps a stable
    /// `event.id`, so the duplicates a crash can cause (the last unconfirmed batch) can be
    /// removed. SIGINT/SIGTERM save the checkpoints and exit 0.
    #[command(
        after_help = "Exit status: 0 stopped by SIGINT/SIGTERM or a closed stdout; 1 the workspace could not be used; 2 usage error."
    )]
    Tail(TailArgs),
    /// Tail, correlate and show sessions live: full screen, or JSON lines with --headless.
    #[command(
        after_help = "Keys: 1-6 or Tab switch screens, ? help, / filter, : commands, q quits.\nExit status: 0 quit or stopped by SIGINT/SIGTERM; 1 the workspace could not be used; 2 usage error."
    )]
    Watch(WatchArgs),
    /// Replay the bundled samples at a realistic pace and watch them (about two minutes).
    Demo(DemoArgs),
    /// Index files into a workspace, for `lateral search`.
    ///
    /// Indexing the same files again adds nothing. Progress (events/s, ETA) goes to stderr
    /// on a terminal, a summary at the end.
    #[command(
        after_help = "Exit status: 0 every input was indexed; 1 some input could not be read, or the index could not be written; 2 usage error."
    )]
    Index(index::IndexArgs),
    /// Search a workspace's index: events newest first, counts, histograms, top values.
    ///
    /// Works while another process writes the index.
    #[command(after_help = search::AFTER_HELP)]
    Search(search::SearchArgs),
    /// List, lint and test rules (shipped, `--rules` and Sigma).
    #[command(
        after_help = "Exit status: 0 done; 1 `lint` found invalid rules, or input could not be read; 2 usage error."
    )]
    Rules(RulesArgs),
    /// Write synthetic multi-format logs with planted attack chains and their ground truth.
    ///
    /// Logs go to DIR/logs/ in the formats the tools write (Hubble, Tetragon, Falco,
    /// winlogbeat, Zeek TSV and JSON, syslog, auditd, VPC flow logs); one line per planted
    /// chain to DIR/ground-truth.jsonl. The same seed writes the same bytes.
    #[command(after_help = "Examples:
  lateral simulate --out /tmp/w --events 1000000           a million events, 9 chains
  lateral simulate --out /tmp/w --events 50000 --attacks 18 --hosts 200 --seed 7
  lateral simulate --out /tmp/live --events 600000 --rate 2000   append live for 5 minutes
  lateral simulate --samples --out samples                 rewrite the bundled sample day")]
    Simulate(SimulateArgs),
    /// Tail and decode on this host; publish normalized events to NATS JetStream.
    ///
    /// Events go to `lateral.events.<site>.<host>.<dataset>` with the event id as message id
    /// (the stream drops republished copies). Checkpoints advance only once the server has
    /// acknowledged the events; while NATS is unreachable the agent stops reading and
    /// resumes where it stopped.
    #[command(after_help = "Examples:
  lateral agent /var/log/zeek --nats nats://hub1:4222,nats://hub2:4222 --site dc1 --replicas 3
  LATERAL_NATS_PASSWORD=... lateral agent /var/log --nats tls://nats:4222 --user agent --tls-ca ca.pem
Exit status: 0 stopped by SIGINT/SIGTERM; 1 NATS or the workspace could not be used; 2 usage error.")]
    Agent(agent::AgentArgs),
    /// Consume every agent's events from NATS JetStream: index, correlate across hosts,
    /// publish session changes and answer `watch --nats` analysts.
    ///
    /// Resumes after a restart from the consumer's acknowledged position with the
    /// correlator rebuilt from the stream: no session lost or doubled.
    #[command(after_help = "Examples:
  lateral hub --nats nats://127.0.0.1:4222 --workspace /srv/lateral/hub
  lateral hub --nats nats://n1:4222,nats://n2:4222 --workspace ws --sites dc1,dc2 --print
Exit status: 0 stopped by SIGINT/SIGTERM; 1 NATS or the workspace could not be used; 2 usage error.")]
    Hub(hub::HubArgs),
    /// Measure the pipeline on a generated workload: decode, correlate, index, search, live
    /// latency, peak memory.
    Bench(BenchArgs),
}

/// `lateral bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Events in the batch workload.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub events: u64,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = BenchOutput::Table)]
    pub output: BenchOutput,
    /// Append rate of the live-latency stage (events per second).
    #[arg(long, value_name = "R", default_value_t = 5_000.0)]
    pub rate: f64,
    /// Duration of the live-latency stage, in seconds.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub seconds: f64,
    /// Machines and pods in the simulated company.
    #[arg(long, value_name = "H", default_value_t = 60)]
    pub hosts: usize,
    /// Seed.
    #[arg(long, value_name = "SEED", default_value_t = 1)]
    pub seed: u64,
}

/// How `lateral bench` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchOutput {
    /// A table for people.
    Table,
    /// One JSON document.
    Json,
}

/// `lateral demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Replay speed: 2 plays the scenario in about a minute, 0.5 in about four.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Samples directory [default: ./samples, else the samples shipped with the sources].
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
    /// Print session changes as JSON lines instead of the full-screen view.
    #[arg(long)]
    pub headless: bool,
    /// Colour theme.
    #[arg(long, default_value = "dark", value_name = "NAME")]
    pub theme: String,
}

/// `lateral watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Directories (watched recursively) or files to follow (not with --nats).
    #[arg(
        value_name = "DIR",
        required_unless_present = "nats",
        conflicts_with = "nats"
    )]
    pub paths: Vec<PathBuf>,
    /// Attach to a hub instead of tailing here: `--nats URL` (with --creds, --user, --tls-ca).
    #[command(flatten)]
    pub nats: nats::NatsArgs,
    /// Workspace for checkpoints, sessions, baseline and triage [default: $XDG_DATA_HOME/lateral/default].
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// More rule files (YAML); searched recursively. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Read files that have no checkpoint from their start (default: from their end).
    #[arg(long)]
    pub from_start: bool,
    /// Print session changes as JSON lines instead of the full-screen view.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: only changes of sessions at or above this severity.
    #[arg(long, default_value = "low", value_name = "LEVEL")]
    pub min_severity: Severity,
    /// Colour theme (dark, light, high-contrast, colorblind, or a file in ~/.config/lateral/themes).
    #[arg(long, default_value = "dark", value_name = "NAME")]
    pub theme: String,
    /// Only follow files matching this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Format of every file (`auto` detects per file).
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,
    /// Internal networks for `network.direction` (comma separated CIDRs).
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    pub internal: Vec<Cidr>,
    /// Attack-chain window (event time).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub window: String,
    /// Allowed lateness of out-of-order events (event time).
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub lateness: String,
}

/// Options for community Sigma rules (`--sigma`).
#[derive(Debug, Clone, clap::Args)]
pub struct SigmaArgs {
    /// Field and log-source mapping for Sigma rules (default: the one shipped in lateral).
    #[arg(long, value_name = "FILE")]
    pub sigma_mapping: Option<PathBuf>,
    /// Sigma rule statuses to run (comma separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "stable,test,experimental",
        value_name = "STATUS"
    )]
    pub sigma_status: Vec<String>,
    /// Least Sigma rule level to run (informational, low, medium, high, critical).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub sigma_min_level: Severity,
    /// Values of a Sigma `%placeholder%` for the `expand` modifier, e.g.
    /// `Administrators=CORP\adm-*,CORP\Administrator`. Repeatable.
    #[arg(long, value_name = "NAME=VALUES")]
    pub sigma_placeholder: Vec<String>,
}

/// `lateral rules`.
#[derive(Debug, Clone, clap::Args)]
pub struct RulesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// `lateral rules` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum RulesCommand {
    /// List every rule: id, title, level, log source, and whether it runs (or why not).
    List {
        /// Also list the Sigma rules under these files or directories. Repeatable.
        #[arg(long, value_name = "DIR")]
        sigma: Vec<PathBuf>,
        /// Run the status filter on nothing: list deprecated and unsupported rules as loaded.
        #[arg(long)]
        all_statuses: bool,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        opts: SigmaArgs,
    },
    /// Report every invalid Sigma rule with file, line and reason (exit 1 if any).
    Lint {
        /// Rule files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        opts: SigmaArgs,
    },
    /// Show which events of PATH match a rule and why, and for events of the rule's log source
    /// that do not match, which search failed.
    Test {
        /// The rule file (rules, correlations and filters; multi-document).
        #[arg(value_name = "RULE.yml")]
        rule: PathBuf,
        /// Log files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Non-matching events explained at most.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
        /// Explain matching events only.
        #[arg(long)]
        matches_only: bool,
        #[command(flatten)]
        opts: SigmaArgs,
    },
}

/// `lateral simulate`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Output directory: logs go to DIR/logs/, the planted chains to DIR/ground-truth.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Events to write (decoded events, planted chains included).
    #[arg(long, value_name = "N", required_unless_present = "samples")]
    pub events: Option<u64>,
    /// Append live at R events per second, stamped with the wall clock, until N are written.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Machines and pods in the simulated company.
    #[arg(long, value_name = "H", default_value_t = 60)]
    pub hosts: usize,
    /// Attack chains to plant (cycling through every chain case and threshold story).
    #[arg(long, value_name = "K", default_value_t = 9)]
    pub attacks: usize,
    /// Seed: the same seed writes the same bytes (batch mode).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Write the bundled sample day (what `samples/` holds) instead of a workload.
    #[arg(long, conflicts_with_all = ["events", "rate"])]
    pub samples: bool,
}

/// `lateral case`.
#[derive(Debug, Clone, clap::Args)]
pub struct CaseArgs {
    /// Workspace holding the sessions and triage state.
    #[arg(long, value_name = "DIR", global = true, default_value_os_t = default_workspace())]
    pub workspace: PathBuf,
    /// Analyst name recorded on changes (default: $LATERAL_ANALYST, then $USER).
    #[arg(long, global = true)]
    pub analyst: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: CaseCommand,
}

/// `lateral case` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum CaseCommand {
    /// Open a case from sessions (id or unique prefix), or add them to `--into CASE`.
    Open {
        /// Session ids.
        #[arg(required = true)]
        sessions: Vec<String>,
        /// Add to this case instead of opening a new one.
        #[arg(long)]
        into: Option<String>,
    },
    /// List cases with checklist progress.
    List,
    /// Show a case's checklist.
    Show {
        /// Case id.
        case: String,
    },
    /// Set a step's status (todo, done, skipped, n/a); skipping needs --note.
    Step {
        /// Case id.
        case: String,
        /// Step id (see `case show`).
        step: String,
        /// New status.
        #[arg(long)]
        status: String,
        /// Note (required to skip).
        #[arg(long)]
        note: Option<String>,
    },
    /// Add a note to a case.
    Note {
        /// Case id.
        case: String,
        /// The note.
        text: String,
    },
    /// Write a case bundle: one JSON-lines file with the case, its rules and the events of its
    /// sessions, which `lateral hunt FILE` reads back into the same sessions.
    Export {
        /// Case id.
        case: String,
        /// Bundle file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// How far before each session's first event to include events (the correlation
        /// window the sessions were hunted with).
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        window: String,
    },
    /// Attach an event (by event.id) to a step as evidence.
    Attach {
        /// Case id.
        case: String,
        /// Step id.
        step: String,
        /// The event's id.
        event_id: String,
    },
}

/// `lateral report`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Workspace.
    #[arg(long, value_name = "DIR", default_value_os_t = default_workspace())]
    pub workspace: PathBuf,
    /// Report on this case.
    #[arg(long, conflicts_with = "all")]
    pub case: Option<String>,
    /// Every case, plus every session at medium or above not yet in a case.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Also write each response artifact (policy, scripts) as its own file in this directory
    /// (created 0700, files 0600). They are text for review; lateral never runs them.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Markdown,
    /// For tools.
    Json,
}

/// `$XDG_DATA_HOME/lateral/default`, else `~/.local/share/lateral/default`.
pub fn default_workspace() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("lateral").join("default")
}

/// `lateral tail`.
#[derive(Debug, Clone, clap::Args)]
pub struct TailArgs {
    /// Directories (watched recursively) or files to follow.
    #[arg(required = true, value_name = "DIR")]
    pub paths: Vec<PathBuf>,
    /// Read files that have no checkpoint from their start (default: files present at the
    /// first start are followed from their end; later ones are read whole).
    #[arg(long)]
    pub from_start: bool,
    /// Workspace holding the checkpoints [default: $XDG_DATA_HOME/lateral/default].
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Only follow files matching this glob (`*.log`; with a `/`, matched against the path
    /// under the directory: `zeek/**/conn*.log`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Skip files matching this glob. Repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = EventsOutput::Jsonl)]
    pub output: EventsOutput,
    /// Print per-source health on stderr every few seconds.
    #[arg(long)]
    pub stats: bool,
    /// Seconds between `--stats` reports.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", hide = true)]
    pub stats_interval: f64,
    /// Format of every file (`auto` detects per file; see `lateral formats`).
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,
    /// Internal networks for `network.direction` (comma separated CIDRs).
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    pub internal: Vec<Cidr>,
}

/// `lateral hunt`.
#[derive(Debug, Clone, clap::Args)]
pub struct HuntArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// More rule files (YAML, Sigma detection syntax); searched recursively. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Community Sigma rules (SigmaHQ format, with v2 correlations) to run as well: files or
    /// directories, searched recursively. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub sigma: Vec<PathBuf>,
    #[command(flatten)]
    pub sigma_args: SigmaArgs,
    /// Only print sessions at or above this severity (info, low, medium, high, critical).
    #[arg(long, default_value = "low", value_name = "LEVEL")]
    pub min_severity: Severity,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = SessionOutput::Table)]
    pub output: SessionOutput,
    /// Keep sessions and the learned baseline in this workspace directory, and index the
    /// events read there (for `lateral search`).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Exit with status 3 when a session at or above this severity exists.
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<Severity>,
    /// Learn the east-west baseline from these files first (normal traffic).
    #[arg(long, value_name = "PATH")]
    pub baseline: Vec<PathBuf>,
    /// Attack-chain window (event time).
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub window: String,
    /// Allowed lateness of out-of-order events (event time).
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub lateness: String,
    /// No summary or progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How sessions are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SessionOutput {
    /// Aligned table.
    Table,
    /// One JSON object per session.
    Jsonl,
    /// Comma separated values.
    Csv,
    /// Markdown table and explanations.
    Markdown,
}

/// Options shared by commands that read logs.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Files or directories to read.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Format of every input (`auto` detects per file; see `lateral formats`).
    #[arg(long, default_value = "auto", value_name = "NAME")]
    pub format: String,
    /// Internal networks for `network.direction` (comma separated CIDRs). Default: RFC 1918,
    /// RFC 6598, RFC 4193, link-local and loopback.
    #[arg(long, value_delimiter = ',', value_name = "CIDR")]
    pub internal: Vec<Cidr>,
    /// Stop at the first record that fails to decode (exit 1).
    #[arg(long)]
    pub strict: bool,
}

/// `lateral events`.
#[derive(Debug, Clone, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = EventsOutput::Jsonl)]
    pub output: EventsOutput,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// No per-file summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How `lateral events` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventsOutput {
    /// One JSON object per line, nested ECS fields.
    Jsonl,
    /// An aligned table for reading.
    Table,
}

/// Parse the command line and run. Errors are printed here; the return is the exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let result = match cli.command {
        Command::Events(args) => events::run(&args),
        Command::Hunt(args) => hunt::run(&args),
        Command::Case(args) => case::run(&args),
        Command::Report(args) => case::report(&args),
        Command::Tail(args) => tail::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Index(args) => index::run(&args),
        Command::Search(args) => search::run(&args),
        Command::Rules(args) => rules::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Agent(args) => agent::run(&args),
        Command::Hub(args) => hub::run(&args),
        Command::Formats => {
            output::print_formats();
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lateral: {e:#}");
            ExitCode::from(e.downcast_ref::<UsageError>().map_or(1, |_| 2))
        }
    }
}

/// A mistake in the command line found after parsing (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl InputArgs {
    /// Validated batch options.
    pub fn batch_options(&self) -> Result<crate::ingest::batch::BatchOptions, UsageError> {
        let format = if self.format.eq_ignore_ascii_case("auto") {
            None
        } else {
            Some(crate::decode::format_by_name(&self.format).ok_or_else(|| {
                let names: Vec<_> = crate::decode::FORMATS.iter().map(|f| f.name).collect();
                UsageError(format!(
                    "unknown format `{}` (auto, {})",
                    self.format,
                    names.join(", ")
                ))
            })?)
        };
        let networks = if self.internal.is_empty() {
            crate::event::Networks::default()
        } else {
            crate::event::Networks::new(self.internal.clone())
        };
        Ok(crate::ingest::batch::BatchOptions {
            format,
            networks,
            strict: self.strict,
        })
    }
}

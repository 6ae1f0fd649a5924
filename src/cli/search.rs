//! `lateral search`: query the workspace's index.
//!
//! Relative times (`--since 2h`) count back from the newest indexed event, not from the
//! wall clock: event time is what lateral reasons on, so a search over last year's evidence
//! means the same as one over a live tail (whose newest event is "now").
//!
//! [`IndexSearch`] answers the full-screen Search screen from the same index.

// The Search screen shows how long a search took (wall clock); results use event time only.
#![allow(clippy::disallowed_methods)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::UsageError;
use super::hunt::{csv_field, parse_duration};
use super::output::EventPrinter;
use crate::event::{Field, Nanos, format_timestamp, parse_timestamp, sanitize};
use crate::index::{Facet, Index, IndexError, Query, Searcher, TimeRange};
use crate::tui::msg::{self, Msg, SearchRequest, SearchResults};

/// Query syntax help for `lateral search --help`.
pub const AFTER_HELP: &str = "\
Query syntax (fields are the dotted names of `lateral events` output):
  user.name:pgustavo                  exact keyword (case-insensitive)
  user.name:pgustavo event.code:4624  terms side by side must all match (AND)
  event.code:4624 OR event.code:4625  OR, NOT, -term, +term, (groups)
  event.code: IN [4624 4625 4648]     any of
  source.ip:10.0.1.4                  an address; source.ip:10.0.0.0/8 or 10.0.* a range
  destination.port:[1 TO 1024]        ranges; also >=445, <1024, {a TO b} exclusive
  process.command_line:\"cmd.exe /c\"  words in order (phrase); \"...\"~2 allows gaps
  process.command_line:psexe*         wildcards * and ? (within words in text fields)
  user.name:/adm.*/                   regular expression on the lowercased value
  process.command_line:*              the field is present
  psexec                              a word in any text or keyword field

Times: --since/--until take a duration back from the newest indexed event (2h, 30m, 7d)
or a time (2024-05-01T10:00:00Z, 2024-05-01).

Exit status: 0 done (also when nothing matched); 1 the index could not be read; 2 usage or query error.";

/// `lateral search`.
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// The query: `field:value` terms over the dotted ECS names, AND / OR / NOT, "phrases",
    /// wildcards, [a TO b] ranges, CIDRs. Empty or `*` matches everything.
    #[arg(value_name = "QUERY", default_value = "*")]
    pub query: String,
    /// Workspace directory (its index is in DIR/index).
    #[arg(long, value_name = "DIR")]
    pub workspace: PathBuf,
    /// Events at or after: a duration back from the newest indexed event (2h, 30m, 7d) or a
    /// time (2024-05-01T10:00:00Z, 2024-05-01).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Events at or before: a duration back from the newest indexed event or a time.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Show at most this many events (newest first), or facet values.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = SearchOutput::Table)]
    pub output: SearchOutput,
    /// Print only how many events match.
    #[arg(long, conflicts_with_all = ["histogram", "facet"])]
    pub count: bool,
    /// Count matching events per bucket of event time (1m, 5m, 1h, 1d).
    #[arg(long, value_name = "DURATION", conflicts_with = "facet")]
    pub histogram: Option<String>,
    /// Top values of a field among the matching events (repeatable).
    #[arg(long, value_name = "FIELD")]
    pub facet: Vec<String>,
    /// No summary line on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How search results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchOutput {
    /// Aligned table.
    Table,
    /// One JSON object per line.
    Jsonl,
    /// Comma separated values.
    Csv,
}

/// A query error as the user sees it: the message, the query, a caret under the position.
fn query_usage_error(query: &str, e: &IndexError) -> UsageError {
    let mut msg = e.to_string();
    if let Some(pos) = e.query_position() {
        let col = query
            .get(..pos.min(query.len()))
            .map_or(pos, |s| s.chars().count());
        msg.push_str(&format!(
            "\n  {}\n  {}^",
            sanitize(query, 400),
            " ".repeat(col)
        ));
    }
    UsageError(msg)
}

/// `2h` back from `newest`, or an absolute time (`2024-05-01T10:00:00Z`, `2024-05-01`).
fn resolve_time(s: &str, newest: Nanos, upper: bool) -> Result<Nanos, UsageError> {
    if let Ok(back) = parse_duration(s) {
        return Ok(newest.saturating_sub(back));
    }
    if let Some(t) = parse_timestamp(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        && let Some(start) = d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_utc().timestamp_nanos_opt())
    {
        // A day as an upper bound includes the whole day.
        return Ok(if upper {
            start + 86_400_000_000_000 - 1
        } else {
            start
        });
    }
    Err(UsageError(format!(
        "`{s}` is neither a duration (2h, 30m, 7d) nor a time (2024-05-01T10:00:00Z)"
    )))
}

/// Run `lateral search`.
pub fn run(args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let facets = args
        .facet
        .iter()
        .map(|f| Field::from_str(f).map_err(|e| UsageError(format!("--facet: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let bucket = args.histogram.as_deref().map(parse_duration).transpose()?;
    if bucket.is_some_and(|b| b <= 0) {
        return Err(UsageError("--histogram needs a bucket longer than zero".into()).into());
    }
    let index = Index::open(&args.workspace.join("index"))?;
    let searcher = index.searcher(false)?;
    let query = searcher
        .parse(&args.query)
        .map_err(|e| query_usage_error(&args.query, &e))?;
    let newest = searcher.newest().unwrap_or(0);
    let range = TimeRange {
        since: args
            .since
            .as_deref()
            .map(|s| resolve_time(s, newest, false))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| resolve_time(s, newest, true))
            .transpose()?,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let printed = if args.count {
        let n = searcher
            .count(&query, range)
            .map_err(|e| as_usage(&args.query, e))?;
        print_count(&mut out, n, args.output)
    } else if let Some(bucket) = bucket {
        let buckets = searcher
            .histogram(&query, range, bucket)
            .map_err(|e| as_usage(&args.query, e))?;
        print_histogram(&mut out, &buckets, args.output)
    } else if !facets.is_empty() {
        let mut all = Vec::new();
        for f in facets {
            all.push(
                searcher
                    .facet(&query, range, f, args.limit)
                    .map_err(|e| as_usage(&args.query, e))?,
            );
        }
        print_facets(&mut out, &all, args.output)
    } else {
        print_hits(&mut out, &searcher, &query, range, args)?
    };
    if let Err(e) = printed.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Query-shaped errors (a facet on text, a bad value) are the user's: exit 2.
fn as_usage(query: &str, e: IndexError) -> anyhow::Error {
    if e.is_query_error() {
        query_usage_error(query, &e).into()
    } else {
        e.into()
    }
}

fn print_hits(
    out: &mut dyn Write,
    searcher: &Searcher,
    query: &Query,
    range: TimeRange,
    args: &SearchArgs,
) -> anyhow::Result<std::io::Result<()>> {
    let (hits, total) = searcher
        .hits_counted(query, range, 0, args.limit)
        .map_err(|e| as_usage(&args.query, e))?;
    let result = match args.output {
        SearchOutput::Table | SearchOutput::Jsonl => {
            let mut p = EventPrinter::new(&mut *out, args.output == SearchOutput::Table);
            hits.iter()
                .try_for_each(|h| p.print(&h.event))
                .and_then(|()| p.finish())
        }
        SearchOutput::Csv => {
            let header: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
            writeln!(out, "{}", header.join(",")).and_then(|()| {
                hits.iter().try_for_each(|h| {
                    let row: Vec<String> = Field::ALL
                        .iter()
                        .map(|f| match *f {
                            Field::Timestamp => format_timestamp(h.event.timestamp),
                            f => h
                                .event
                                .get(f)
                                .map(|v| csv_field(&v.to_string()))
                                .unwrap_or_default(),
                        })
                        .collect();
                    writeln!(out, "{}", row.join(","))
                })
            })
        }
    };
    if !args.quiet && args.output == SearchOutput::Table {
        if total == 0 {
            eprintln!("no matching events ({} indexed)", searcher.num_docs());
        } else if std::io::stderr().is_terminal() || total > hits.len() as u64 {
            eprintln!("{} of {total} matching event(s), newest first", hits.len());
        }
    }
    Ok(result)
}

fn print_count(out: &mut dyn Write, n: u64, format: SearchOutput) -> std::io::Result<()> {
    match format {
        SearchOutput::Table => writeln!(out, "{n}"),
        SearchOutput::Jsonl => writeln!(out, "{}", serde_json::json!({ "count": n })),
        SearchOutput::Csv => writeln!(out, "count\n{n}"),
    }
}

fn print_histogram(
    out: &mut dyn Write,
    buckets: &[(Nanos, u64)],
    format: SearchOutput,
) -> std::io::Result<()> {
    match format {
        SearchOutput::Table => {
            let max = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
            writeln!(out, "{:<20} {:>10}", "TIME", "EVENTS")?;
            for (t, n) in buckets {
                let ts = format_timestamp(*t);
                let bar = "█".repeat(((n * 50).div_ceil(max)) as usize);
                writeln!(out, "{:<20} {n:>10} {bar}", ts.get(..19).unwrap_or(&ts))?;
            }
            Ok(())
        }
        SearchOutput::Jsonl => buckets.iter().try_for_each(|(t, n)| {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "@timestamp": format_timestamp(*t), "count": n })
            )
        }),
        SearchOutput::Csv => {
            writeln!(out, "@timestamp,count")?;
            buckets
                .iter()
                .try_for_each(|(t, n)| writeln!(out, "{},{n}", format_timestamp(*t)))
        }
    }
}

fn print_facets(
    out: &mut dyn Write,
    facets: &[Facet],
    format: SearchOutput,
) -> std::io::Result<()> {
    match format {
        SearchOutput::Table => {
            for (i, f) in facets.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(
                    out,
                    "{}: {} distinct value(s) in {} event(s){}",
                    f.field,
                    f.distinct,
                    f.total,
                    if f.missing > 0 {
                        format!(", {} without", f.missing)
                    } else {
                        String::new()
                    }
                )?;
                for (v, n) in &f.values {
                    let pct = if f.total > 0 {
                        *n as f64 * 100.0 / f.total as f64
                    } else {
                        0.0
                    };
                    writeln!(out, "  {:<48} {n:>10} {pct:>5.1}%", sanitize(v, 48))?;
                }
            }
            Ok(())
        }
        SearchOutput::Jsonl => facets.iter().try_for_each(|f| {
            f.values.iter().try_for_each(|(v, n)| {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "field": f.field.name(), "value": v, "count": n })
                )
            })
        }),
        SearchOutput::Csv => {
            writeln!(out, "field,value,count")?;
            facets.iter().try_for_each(|f| {
                f.values
                    .iter()
                    .try_for_each(|(v, n)| writeln!(out, "{},{},{n}", f.field, csv_field(v)))
            })
        }
    }
}

/// The index of a workspace behind the full-screen Search screen. The index may not exist yet
/// when the screen starts (a live tail creates it): it is opened on the first search that
/// finds it, then follows commits by itself.
pub struct IndexSearch {
    dir: PathBuf,
    searcher: Mutex<Option<Arc<Searcher>>>,
}

impl std::fmt::Debug for IndexSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexSearch")
            .field("dir", &self.dir)
            .finish()
    }
}

/// Facets the Search screen shows.
const SCREEN_FACETS: [Field; 3] = [Field::HostName, Field::UserName, Field::SourceIp];
/// Histogram bars the Search screen aims for.
const SCREEN_BUCKETS: i64 = 60;

impl IndexSearch {
    /// The searcher for the workspace at `workspace`.
    pub fn new(workspace: &Path) -> IndexSearch {
        IndexSearch {
            dir: workspace.join("index"),
            searcher: Mutex::new(None),
        }
    }

    fn searcher(&self) -> Result<Arc<Searcher>, IndexError> {
        let mut slot = self
            .searcher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let s = Arc::new(Index::open(&self.dir)?.searcher(true)?);
        *slot = Some(s.clone());
        Ok(s)
    }

    fn run(&self, req: &SearchRequest) -> Result<SearchResults, IndexError> {
        let started = Instant::now();
        let s = self.searcher()?;
        let query = s.parse(&req.query)?;
        // The request's `until` is exclusive; the index's is inclusive.
        let range = TimeRange {
            since: req.since,
            until: req.until.map(|u| u.saturating_sub(1)),
        };
        let (hits, total) = s.hits_counted(&query, range, req.offset, req.limit)?;
        let hits = hits.into_iter().map(|h| h.event).collect();
        let histogram = match s.time_span(&query, range)? {
            Some((first, last)) => s
                .histogram(&query, range, bucket_for(last - first))?
                .into_iter()
                .map(|(start, count)| msg::Bucket { start, count })
                .collect(),
            None => Vec::new(),
        };
        let mut facets = Vec::with_capacity(SCREEN_FACETS.len());
        for field in SCREEN_FACETS {
            let f = s.facet(&query, range, field, 5)?;
            facets.push(msg::Facet {
                field,
                values: f.values,
            });
        }
        Ok(SearchResults {
            generation: req.generation,
            query: req.query.clone(),
            offset: req.offset,
            total,
            hits,
            histogram,
            facets,
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// A round bucket giving about [`SCREEN_BUCKETS`] bars over `span`.
fn bucket_for(span: Nanos) -> Nanos {
    const S: i64 = 1_000_000_000;
    let want = span / SCREEN_BUCKETS;
    [
        S,
        5 * S,
        10 * S,
        30 * S,
        60 * S,
        300 * S,
        600 * S,
        1800 * S,
        3600 * S,
        3 * 3600 * S,
        6 * 3600 * S,
        12 * 3600 * S,
        86_400 * S,
        7 * 86_400 * S,
    ]
    .into_iter()
    .find(|&b| b >= want)
    .unwrap_or(30 * 86_400 * S)
}

impl super::screen::Searcher for IndexSearch {
    fn search(&self, req: &SearchRequest) -> Msg {
        match self.run(req) {
            Ok(results) => Msg::SearchResults(results),
            Err(e) => Msg::SearchFailed {
                generation: req.generation,
                position: e.query_position().map(|pos| {
                    req.query
                        .get(..pos.min(req.query.len()))
                        .map_or(pos, |s| s.chars().count())
                }),
                message: e.to_string(),
            },
        }
    }

    fn load(&self, event_id: &str) -> Msg {
        let found = self.searcher().and_then(|s| {
            let q = Query::ids(s.index().schema(), &[event_id]);
            s.hits(&q, TimeRange::default(), 1)
        });
        match found.ok().and_then(|hits| hits.into_iter().next()) {
            Some(hit) => Msg::EventLoaded(Box::new(hit.event)),
            None => Msg::EventNotFound {
                event_id: event_id.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_count_back_from_the_newest_event() {
        let newest = 1_000 * 1_000_000_000;
        assert_eq!(
            resolve_time("10s", newest, false).unwrap(),
            990 * 1_000_000_000
        );
        let t = resolve_time("2024-05-01T10:00:00Z", newest, false).unwrap();
        assert_eq!(format_timestamp(t), "2024-05-01T10:00:00.000000000Z");
        let day_end = resolve_time("2024-05-01", newest, true).unwrap();
        assert_eq!(format_timestamp(day_end), "2024-05-01T23:59:59.999999999Z");
        assert!(resolve_time("yesterday", newest, false).is_err());
    }

    #[test]
    fn screen_buckets_are_round_and_about_sixty() {
        let s = 1_000_000_000;
        assert_eq!(bucket_for(0), s);
        assert_eq!(bucket_for(3600 * s), 60 * s);
        assert_eq!(bucket_for(86_400 * s), 1800 * s);
    }

    #[test]
    fn the_screen_searches_and_loads_events_from_the_index() {
        use super::super::screen::Searcher as _;
        use crate::event::Event;
        use crate::index::WriterConfig;
        let dir = tempfile::tempdir().unwrap();
        let screen = IndexSearch::new(dir.path());
        let req = SearchRequest {
            generation: 7,
            query: "user.name:bob".into(),
            since: None,
            until: None,
            offset: 0,
            limit: 2,
        };
        // No index yet: a failure the screen can show, not a panic.
        assert!(matches!(
            screen.search(&req),
            Msg::SearchFailed { generation: 7, .. }
        ));
        let index = Index::open_or_create(&dir.path().join("index")).unwrap();
        let mut w = index.writer(WriterConfig::default()).unwrap();
        for i in 0..5i64 {
            let mut e = Event::new(i * 60_000_000_000);
            e.id = format!("ab-{i}");
            e.set(Field::UserName, if i < 3 { "bob" } else { "eve" });
            e.set(Field::HostName, "ws01");
            w.add(e).unwrap();
        }
        w.finish().unwrap();
        let Msg::SearchResults(r) = screen.search(&req) else {
            panic!("no results");
        };
        assert_eq!((r.generation, r.total, r.hits.len()), (7, 3, 2));
        assert_eq!(r.hits[0].id, "ab-2");
        assert_eq!(r.histogram.iter().map(|b| b.count).sum::<u64>(), 3);
        assert_eq!(r.facets[0].values, [("ws01".to_string(), 3)]);
        let page = screen.search(&SearchRequest {
            offset: 2,
            ..req.clone()
        });
        let Msg::SearchResults(p) = page else {
            panic!()
        };
        assert_eq!(p.hits.len(), 1);
        assert_eq!(p.hits[0].id, "ab-0");
        let bad = screen.search(&SearchRequest {
            query: "user.nme:bob".into(),
            ..req
        });
        assert!(
            matches!(bad, Msg::SearchFailed { position: Some(0), ref message, .. } if message.contains("user.name")),
            "{bad:?}"
        );
        assert!(matches!(screen.load("ab-4"), Msg::EventLoaded(e) if e.id == "ab-4"));
        assert!(matches!(screen.load("ab-9"), Msg::EventNotFound { .. }));
    }

    #[test]
    fn query_errors_show_a_caret() {
        let err = IndexError::Syntax {
            pos: 4,
            message: "expected word".into(),
        };
        let shown = query_usage_error("abc:", &err).0;
        assert!(shown.ends_with("\n  abc:\n      ^"), "{shown:?}");
    }
}

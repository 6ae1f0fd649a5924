//! Searching: newest-first hits, counts, time histograms and top values.
//!
//! A [`Searcher`] reads the last commit. It never takes the writer's lock, so it works while
//! `lateral index`, `hunt --workspace` or a live tail writes the same index from another
//! process. A `live` searcher follows commits by itself; others call [`Searcher::reload`].

use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::ops::Bound;

use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{BooleanQuery, Occur};
use tantivy::{
    DateTime, DocAddress, DocId, IndexReader, Order, ReloadPolicy, Score, SegmentOrdinal,
    SegmentReader, TantivyDocument,
};

use super::schema::{self, from_ipv6};
use super::{Index, IndexError, Query};
use crate::event::{Event, Field, FieldKind, Nanos};

/// Times a reader is opened again when the writer's cleanup removed a segment between our
/// reading `meta.json` and opening the segment's files (another process's merge).
const OPEN_ATTEMPTS: usize = 3;
/// Most buckets a histogram may have.
pub const MAX_BUCKETS: usize = 100_000;

/// An event-time window; both ends included, either open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Earliest event time.
    pub since: Option<Nanos>,
    /// Latest event time.
    pub until: Option<Nanos>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The stored event.
    pub event: Event,
}

/// Top values of a field among the matching events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    /// The field.
    pub field: Field,
    /// Values with their event counts, most frequent first (ties by value).
    pub values: Vec<(String, u64)>,
    /// Distinct values seen (may exceed `values.len()`).
    pub distinct: usize,
    /// Matching events without the field.
    pub missing: u64,
    /// Matching events.
    pub total: u64,
}

/// Reads an index.
pub struct Searcher {
    index: Index,
    reader: IndexReader,
}

impl std::fmt::Debug for Searcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Searcher")
            .field("index", &self.index.path())
            .finish()
    }
}

impl Searcher {
    pub(super) fn new(index: Index, live: bool) -> Result<Searcher, IndexError> {
        let policy = if live {
            ReloadPolicy::OnCommitWithDelay
        } else {
            ReloadPolicy::Manual
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match index
                .tantivy()
                .reader_builder()
                .reload_policy(policy)
                .try_into()
            {
                Ok(reader) => return Ok(Searcher { index, reader }),
                Err(source) if attempt >= OPEN_ATTEMPTS => {
                    return Err(IndexError::Open {
                        path: index.path().to_path_buf(),
                        source,
                    });
                }
                Err(_) => {}
            }
        }
    }

    fn err(&self, source: tantivy::TantivyError) -> IndexError {
        IndexError::Search {
            path: self.index.path().to_path_buf(),
            source,
        }
    }

    /// Read the latest commit now.
    pub fn reload(&self) -> Result<(), IndexError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.reader.reload() {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= OPEN_ATTEMPTS => return Err(self.err(e)),
                Err(_) => {}
            }
        }
    }

    /// The index searched.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Events in the index (deleted ones excluded).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Event time of the newest indexed event.
    pub fn newest(&self) -> Option<Nanos> {
        newest_timestamp(&self.reader.searcher())
    }

    /// Parse a query for this index.
    pub fn parse(&self, text: &str) -> Result<Query, IndexError> {
        Query::parse(text, self.index.schema())
    }

    fn filtered(&self, query: &Query, range: TimeRange) -> Box<dyn tantivy::query::Query> {
        if range.since.is_none() && range.until.is_none() {
            return query.tantivy().box_clone();
        }
        let window = super::query::time_query(
            self.index.schema().field(Field::Timestamp),
            range.since.map_or(Bound::Unbounded, Bound::Included),
            range.until.map_or(Bound::Unbounded, Bound::Included),
        );
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, query.tantivy().box_clone()),
            (Occur::Must, window),
        ]))
    }

    /// The newest `limit` matching events, newest first.
    pub fn hits(
        &self,
        query: &Query,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        self.hits_page(query, range, 0, limit)
    }

    /// A page of matching events, newest first: `limit` of them after skipping `offset`.
    pub fn hits_page(
        &self,
        query: &Query,
        range: TimeRange,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        Ok(self.hits_counted(query, range, offset, limit)?.0)
    }

    /// A page of matching events, newest first, and how many match in all, in one pass over
    /// the matches.
    pub fn hits_counted(
        &self,
        query: &Query,
        range: TimeRange,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Hit>, u64), IndexError> {
        if limit == 0 {
            return Ok((Vec::new(), self.count(query, range)?));
        }
        let searcher = self.reader.searcher();
        let q = self.filtered(query, range);
        let top = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by_fast_field::<DateTime>(Field::Timestamp.name(), Order::Desc);
        let (found, total) = searcher
            .search(q.as_ref(), &(top, Count))
            .map_err(|e| self.err(e))?;
        let mut hits = Vec::with_capacity(found.len());
        for (_, addr) in found {
            hits.push(Hit {
                event: self.event_at(&searcher, addr)?,
            });
        }
        Ok((hits, total as u64))
    }

    fn event_at(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
    ) -> Result<Event, IndexError> {
        let doc: TantivyDocument = searcher.doc(addr).map_err(|e| self.err(e))?;
        self.index
            .schema()
            .event(&doc)
            .map_err(|reason| IndexError::StoredEvent {
                path: self.index.path().to_path_buf(),
                doc: format!("{}/{}", addr.segment_ord, addr.doc_id),
                reason,
            })
    }

    /// Event times of the oldest and newest matching events.
    pub fn time_span(
        &self,
        query: &Query,
        range: TimeRange,
    ) -> Result<Option<(Nanos, Nanos)>, IndexError> {
        let searcher = self.reader.searcher();
        let q = self.filtered(query, range);
        let mut ends = [None, None];
        for (slot, order) in ends.iter_mut().zip([Order::Asc, Order::Desc]) {
            let top = TopDocs::with_limit(1)
                .order_by_fast_field::<DateTime>(Field::Timestamp.name(), order);
            let found = searcher.search(q.as_ref(), &top).map_err(|e| self.err(e))?;
            *slot = found
                .first()
                .and_then(|(t, _)| t.map(|t| t.into_timestamp_nanos()));
        }
        Ok(match ends {
            [Some(a), Some(b)] => Some((a, b)),
            _ => None,
        })
    }

    /// How many events match.
    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, IndexError> {
        let q = self.filtered(query, range);
        self.reader
            .searcher()
            .search(q.as_ref(), &Count)
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Matching events per `bucket` of event time (buckets aligned to the Unix epoch), from
    /// the first bucket with events to the last, empty buckets included.
    pub fn histogram(
        &self,
        query: &Query,
        range: TimeRange,
        bucket: Nanos,
    ) -> Result<Vec<(Nanos, u64)>, IndexError> {
        if bucket <= 0 {
            return Err(IndexError::Unsupported(
                "a histogram bucket must be longer than zero".into(),
            ));
        }
        let q = self.filtered(query, range);
        let counts = self
            .reader
            .searcher()
            .search(q.as_ref(), &TimeBuckets { bucket })
            .map_err(|e| self.err(e))?;
        let (Some(&first), Some(&last)) = (counts.keys().min(), counts.keys().max()) else {
            return Ok(Vec::new());
        };
        let span = usize::try_from(last.saturating_sub(first)).unwrap_or(usize::MAX);
        if span >= MAX_BUCKETS {
            return Err(IndexError::Unsupported(format!(
                "the matching events span {} buckets (at most {MAX_BUCKETS}); use a longer bucket or a narrower --since/--until",
                span.saturating_add(1)
            )));
        }
        Ok((first..=last)
            .map(|b| (b * bucket, counts.get(&b).copied().unwrap_or(0)))
            .collect())
    }

    /// The `top` most frequent values of `field` among the matching events.
    pub fn facet(
        &self,
        query: &Query,
        range: TimeRange,
        field: Field,
        top: usize,
    ) -> Result<Facet, IndexError> {
        if !schema::is_fast(field) || field.kind() == FieldKind::Timestamp {
            return Err(IndexError::Unsupported(format!(
                "`{}` cannot be faceted: facets count keyword, IP, integer and boolean fields{}",
                field.name(),
                match field.kind() {
                    FieldKind::Timestamp => " (use --histogram for time)",
                    FieldKind::Text => " (it is free text)",
                    _ => "",
                }
            )));
        }
        let q = self.filtered(query, range);
        let counted = self
            .reader
            .searcher()
            .search(q.as_ref(), &Values { field })
            .map_err(|e| self.err(e))?;
        let distinct = counted.values.len();
        let mut values: Vec<(String, u64)> = counted.values.into_iter().collect();
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        values.truncate(top);
        Ok(Facet {
            field,
            values,
            distinct,
            missing: counted.missing,
            total: counted.total,
        })
    }
}

/// Event time of the newest event in `searcher`'s segments (from the column's statistics:
/// no document is read).
pub(crate) fn newest_timestamp(searcher: &tantivy::Searcher) -> Option<Nanos> {
    searcher
        .segment_readers()
        .iter()
        .filter(|s| s.num_docs() > 0)
        .filter_map(|s| s.fast_fields().date(Field::Timestamp.name()).ok())
        .map(|c| c.max_value().into_timestamp_nanos())
        .max()
}

/// Counts per time bucket.
struct TimeBuckets {
    bucket: Nanos,
}

struct SegmentBuckets {
    column: Column<DateTime>,
    bucket: Nanos,
    counts: HashMap<i64, u64>,
}

impl Collector for TimeBuckets {
    type Fruit = HashMap<i64, u64>;
    type Child = SegmentBuckets;

    fn for_segment(
        &self,
        _ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentBuckets> {
        Ok(SegmentBuckets {
            column: segment.fast_fields().date(Field::Timestamp.name())?,
            bucket: self.bucket,
            counts: HashMap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashMap<i64, u64>>) -> tantivy::Result<HashMap<i64, u64>> {
        let mut all = HashMap::new();
        for f in fruits {
            for (k, v) in f {
                *all.entry(k).or_insert(0) += v;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentBuckets {
    type Fruit = HashMap<i64, u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(t) = self.column.first(doc) {
            let b = t.into_timestamp_nanos().div_euclid(self.bucket);
            *self.counts.entry(b).or_insert(0) += 1;
        }
    }

    fn harvest(self) -> HashMap<i64, u64> {
        self.counts
    }
}

/// Value counts of one field.
struct Values {
    field: Field,
}

#[derive(Default)]
struct Counted {
    values: HashMap<String, u64>,
    missing: u64,
    total: u64,
}

enum ValueColumn {
    Str(Option<StrColumn>, Vec<u64>),
    Ip(Column<Ipv6Addr>, HashMap<Ipv6Addr, u64>),
    Int(Column<i64>, HashMap<i64, u64>),
    Bool(Column<bool>, [u64; 2]),
}

struct SegmentValues {
    column: ValueColumn,
    missing: u64,
    total: u64,
}

impl Collector for Values {
    type Fruit = Counted;
    type Child = SegmentValues;

    fn for_segment(
        &self,
        _ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentValues> {
        let ff = segment.fast_fields();
        let name = self.field.name();
        let column = match self.field.kind() {
            FieldKind::Ip => ValueColumn::Ip(ff.ip_addr(name)?, HashMap::new()),
            FieldKind::Integer => ValueColumn::Int(ff.i64(name)?, HashMap::new()),
            FieldKind::Bool => ValueColumn::Bool(ff.bool(name)?, [0; 2]),
            _ => {
                let col = ff.str(name)?;
                let terms = col.as_ref().map_or(0, |c| c.num_terms());
                ValueColumn::Str(col, vec![0; terms])
            }
        };
        Ok(SegmentValues {
            column,
            missing: 0,
            total: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counted>) -> tantivy::Result<Counted> {
        let mut all = Counted::default();
        for f in fruits {
            all.missing += f.missing;
            all.total += f.total;
            for (k, v) in f.values {
                *all.values.entry(k).or_insert(0) += v;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentValues {
    type Fruit = Counted;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.total += 1;
        let mut any = false;
        match &mut self.column {
            ValueColumn::Str(Some(col), counts) => {
                for ord in col.term_ords(doc) {
                    if let Some(c) = usize::try_from(ord).ok().and_then(|o| counts.get_mut(o)) {
                        *c += 1;
                        any = true;
                    }
                }
            }
            ValueColumn::Str(None, _) => {}
            ValueColumn::Ip(col, counts) => {
                for v in col.values_for_doc(doc) {
                    *counts.entry(v).or_insert(0) += 1;
                    any = true;
                }
            }
            ValueColumn::Int(col, counts) => {
                for v in col.values_for_doc(doc) {
                    *counts.entry(v).or_insert(0) += 1;
                    any = true;
                }
            }
            ValueColumn::Bool(col, counts) => {
                for v in col.values_for_doc(doc) {
                    counts[usize::from(v)] += 1;
                    any = true;
                }
            }
        }
        if !any {
            self.missing += 1;
        }
    }

    fn harvest(self) -> Counted {
        let mut values = HashMap::new();
        match self.column {
            ValueColumn::Str(Some(col), counts) => {
                let mut text = String::new();
                for (ord, n) in counts.into_iter().enumerate() {
                    if n > 0 && col.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                        values.insert(text.clone(), n);
                    }
                }
            }
            ValueColumn::Str(None, _) => {}
            ValueColumn::Ip(_, counts) => {
                values.extend(
                    counts
                        .into_iter()
                        .map(|(ip, n)| (from_ipv6(ip).to_string(), n)),
                );
            }
            ValueColumn::Int(_, counts) => {
                values.extend(counts.into_iter().map(|(v, n)| (v.to_string(), n)));
            }
            ValueColumn::Bool(_, counts) => {
                for (v, n) in [("false", counts[0]), ("true", counts[1])] {
                    if n > 0 {
                        values.insert(v.to_string(), n);
                    }
                }
            }
        }
        Counted {
            values,
            missing: self.missing,
            total: self.total,
        }
    }
}

//! What a request costs, measured on the document as written before
//! anything else happens to it.
//!
//! [`measure`] walks the document once, every fragment once (a fragment's
//! measure is kept and added wherever it is spread), so a document whose
//! fragments spread each other six times over nine levels (594 bytes that
//! would expand to ten million fields) is measured in microseconds and
//! refused before async-graphql's own passes — which spread fragments
//! without remembering them (see [`crate::limits`]) — ever see it.
//!
//! async-graphql's complexity counts one per selected field: an uncached
//! panel trend would cost what `viewer` costs. The measure adds, for each
//! figure field wherever it stands (through fragments, at any depth), what
//! computing it costs the database, so the complexity limit
//! ([`crate::Limits::complexity`]) and the per-client budget
//! ([`crate::budget`]) bound real work:
//!
//! | field | cost |
//! |---|---|
//! | a figure already in memory (a closed round's aggregates; a distribution of a round whose plan is in memory) | [`CACHED`] |
//! | `maturityAggregates`, `answerDistribution`, `processShare`, `estimatedWeeklyHours` otherwise | [`FIGURE`] |
//! | `maturityTrend` without panel, not in memory | 2 × [`FIGURE`] |
//! | `maturityTrend(panel: true)` (computed from the scores each time) | [`PANEL`] |
//! | `myComparison` (the kommun's own scores beside two aggregates) | 2 × [`FIGURE`] |
//! | `participation`, `releaseSummary` | [`FIGURE`] / 2 |
//! | `maturitySeries` | per round, as `maturityAggregates` |
//! | `distributionTrend(panel: true)` | [`PANEL`] |
//! | `distributionTrend`, `processShareTrend`, `estimatedWeeklyHoursTrend` | 2 × [`FIGURE`] |
//! | `Response.history` (the whole audit trail; `historyConnection` pages it) | [`FIGURE`] |
//!
//! Fields below lists are counted once, as async-graphql counts them; what
//! their rows would repeat — a round's guidance, problems and mapping — a
//! request computes once per round ([`crate::once`]).
//!
//! Arguments are read with the request's variables and, where it gives
//! none, the defaults its operations declare. An argument that cannot be
//! known before the query runs weighs its worst: a panel, ten rounds
//! (`maturitySeries`' most), nothing in memory. A trend without
//! `baselineRoundId` is weighed by its round's baseline when the round is
//! in memory, else as not in memory.
//!
//! The weights follow what the figures took on PostgreSQL with the demo data
//! (a debug build, one request at a time, subgroups): `viewer` 0.8 ms; an
//! aggregate table in memory 2 ms (mostly writing the response); the same
//! table not in memory 7–40 ms (the first of a round loads its plan);
//! `processShare` 11 ms; a panel trend 48 ms.
//!
//! The operations of one batch share one budget ([`BatchBudget`]), so a
//! batch cannot multiply what one request may cost.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::Value as ConstValue;
use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use uuid::Uuid;

use crate::services::aggregates::{FigureCache, Grouping};

/// A figure in memory.
pub const CACHED: usize = 1;
/// A figure computed by the database.
pub const FIGURE: usize = 50;
/// A panel trend: the scores of two rounds matched municipality by municipality.
pub const PANEL: usize = 200;

/// The complexity left to the operations of one HTTP request (a batch shares it).
#[derive(Clone, Debug)]
pub struct BatchBudget(Arc<AtomicUsize>);

impl BatchBudget {
    pub fn new(budget: usize) -> Self {
        Self(Arc::new(AtomicUsize::new(budget)))
    }

    /// Takes `cost` from the budget; `false` (and nothing taken) when it is not there.
    pub fn take(&self, cost: usize) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

/// What a document asks for once every fragment is spread where it is
/// used: the numbers the limits ([`crate::Limits`]) are compared with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    /// Selections — fields (`__typename` too), fragment spreads and inline
    /// fragments — that every walk over the document's operations and
    /// fragment definitions visits, with each fragment counted wherever it
    /// is spread. This is the work of async-graphql's own passes
    /// (validation's field walks, field collection at execution).
    pub selections: usize,
    /// The deepest nesting of fields (async-graphql's depth).
    pub depth: usize,
    /// The deepest nesting of selection sets, fragments included
    /// (async-graphql's recursion depth).
    pub nesting: usize,
    /// Aliases in the operations, counted where their fragments are spread.
    pub aliases: usize,
    /// Directives in the operations, counted where their fragments are spread.
    pub directives: usize,
    /// The costliest operation's complexity: one per field but
    /// `__typename`, plus what its figures cost (the table above), at every depth.
    pub cost: usize,
}

/// Why a document could not be measured to the end: it nests selection
/// sets deeper than [`MAX_NESTING`] (through fragments, possibly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooDeep;

/// The deepest nesting of selection sets measured, as async-graphql's own
/// recursion limit: deeper documents are refused without being walked further.
pub const MAX_NESTING: usize = 32;

/// Measures `doc` as written, every fragment once (its measure is kept and
/// added wherever it is spread), so the work is linear in the document
/// however its fragments multiply. Counts saturate: a document that would
/// select 6^9 fields measures as "very many", in microseconds.
pub fn measure(
    doc: &ExecutableDocument,
    variables: &Variables,
    cache: Option<&FigureCache>,
) -> Result<Measure, TooDeep> {
    let mut walk = Walk {
        doc,
        variables,
        cache,
        fragments: HashMap::new(),
    };
    let mut total = Measure::default();
    for (_, op) in doc.operations.iter() {
        let m = walk.set(&op.node.selection_set.node, 0)?;
        total.selections = total.selections.saturating_add(m.selections);
        total.depth = total.depth.max(m.depth);
        total.nesting = total.nesting.max(m.nesting);
        total.aliases = total.aliases.saturating_add(m.aliases);
        let directives = m.directives.saturating_add(op.node.directives.len());
        total.directives = total.directives.saturating_add(directives);
        total.cost = total.cost.max(m.cost);
    }
    // Fragment definitions are walked on their own too (validation visits
    // each), so their expansions count once more; unused ones as well.
    for name in doc.fragments.keys() {
        let m = walk.fragment(name.as_str(), 0)?;
        total.selections = total.selections.saturating_add(m.selections);
        total.depth = total.depth.max(m.depth);
        total.nesting = total.nesting.max(m.nesting);
    }
    Ok(total)
}

/// One measuring walk: the fragments measured so far (`None` while one is
/// being measured, so a cycle counts as nothing; validation refuses it).
struct Walk<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    cache: Option<&'a FigureCache>,
    fragments: HashMap<&'a str, Option<Measure>>,
}

impl<'a> Walk<'a> {
    /// The measure of a fragment, measured the first time it is met at
    /// nesting `level`.
    fn fragment(&mut self, name: &'a str, level: usize) -> Result<Measure, TooDeep> {
        match self.fragments.get(name) {
            Some(Some(m)) => return Ok(*m),
            Some(None) => return Ok(Measure::default()),
            None => {}
        }
        let Some(definition) = self.doc.fragments.get(name) else {
            return Ok(Measure::default()); // unknown: validation says so
        };
        self.fragments.insert(name, None);
        let mut m = self.set(&definition.node.selection_set.node, level)?;
        m.directives = m
            .directives
            .saturating_add(definition.node.directives.len());
        self.fragments.insert(name, Some(m));
        Ok(m)
    }

    /// The measure of a selection set at nesting `level`.
    fn set(&mut self, set: &'a SelectionSet, level: usize) -> Result<Measure, TooDeep> {
        if level > MAX_NESTING {
            return Err(TooDeep);
        }
        let mut m = Measure::default();
        for item in &set.items {
            let (inner, own_cost, own_directives, nested) = match &item.node {
                Selection::Field(f) => {
                    let field = &f.node;
                    let inner = if field.selection_set.node.items.is_empty() {
                        Measure::default()
                    } else {
                        self.set(&field.selection_set.node, level + 1)?
                    };
                    m.depth = m.depth.max(inner.depth + 1);
                    m.aliases = m.aliases.saturating_add(usize::from(field.alias.is_some()));
                    let name = field.name.node.as_str();
                    let cost = if name == "__typename" {
                        0
                    } else {
                        1 + self.weigh(field)
                    };
                    let nested = !field.selection_set.node.items.is_empty();
                    (inner, cost, field.directives.len(), nested)
                }
                Selection::InlineFragment(f) => {
                    let inner = self.set(&f.node.selection_set.node, level + 1)?;
                    m.depth = m.depth.max(inner.depth);
                    (inner, 0, f.node.directives.len(), true)
                }
                Selection::FragmentSpread(s) => {
                    let inner = self.fragment(s.node.fragment_name.node.as_str(), level + 1)?;
                    m.depth = m.depth.max(inner.depth);
                    (inner, 0, s.node.directives.len(), true)
                }
            };
            let nesting = inner.nesting + usize::from(nested);
            if level + nesting > MAX_NESTING {
                return Err(TooDeep);
            }
            m.nesting = m.nesting.max(nesting);
            m.selections = m
                .selections
                .saturating_add(1)
                .saturating_add(inner.selections);
            m.aliases = m.aliases.saturating_add(inner.aliases);
            m.directives = m
                .directives
                .saturating_add(own_directives)
                .saturating_add(inner.directives);
            m.cost = m.cost.saturating_add(own_cost).saturating_add(inner.cost);
        }
        Ok(m)
    }

    /// What a field's figure costs beyond its one ([`weight`]); without
    /// the process's memory to ask, nothing is known to be kept.
    fn weigh(&self, field: &async_graphql::parser::types::Field) -> usize {
        let Some(figure) = Figure::of(field.name.node.as_str()) else {
            return 0;
        };
        let variables = self.variables;
        let arg = |name: &str| -> Arg {
            field
                .get_argument(name)
                .map(|v| {
                    v.node
                        .clone()
                        .into_const_with(|var| variables.get(&var).cloned().ok_or(()))
                })
                .transpose()
        };
        weight(figure, &arg, self.cache)
    }
}

/// The fields that cost the database more than their one — the figures,
/// and a response's whole audit trail — by the GraphQL field that shows
/// them: the one list both GraphQL's measure and the other doors (files,
/// charts) weigh with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    MaturityAggregates,
    AnswerDistribution,
    ProcessShare,
    EstimatedWeeklyHours,
    MaturityTrend,
    MaturitySeries,
    DistributionTrend,
    ProcessShareTrend,
    EstimatedWeeklyHoursTrend,
    MyComparison,
    Participation,
    /// `SurveyRound.releaseSummary`: a round's release plan, read whole.
    ReleaseSummary,
    /// `Response.history`: every change of a response, however many.
    History,
}

impl Figure {
    const ALL: [(Self, &'static str); 13] = [
        (Self::MaturityAggregates, "maturityAggregates"),
        (Self::AnswerDistribution, "answerDistribution"),
        (Self::ProcessShare, "processShare"),
        (Self::EstimatedWeeklyHours, "estimatedWeeklyHours"),
        (Self::MaturityTrend, "maturityTrend"),
        (Self::MaturitySeries, "maturitySeries"),
        (Self::DistributionTrend, "distributionTrend"),
        (Self::ProcessShareTrend, "processShareTrend"),
        (Self::EstimatedWeeklyHoursTrend, "estimatedWeeklyHoursTrend"),
        (Self::MyComparison, "myComparison"),
        (Self::Participation, "participation"),
        (Self::ReleaseSummary, "releaseSummary"),
        (Self::History, "history"),
    ];

    /// What a field of this name weighs, if it weighs more than its one.
    pub fn of(field: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, f)| *f == field).map(|(g, _)| *g)
    }
}

/// An argument as the measure sees it: absent, a value, or a variable the
/// request neither gives nor defaults (measured at its worst).
type Arg = Result<Option<ConstValue>, ()>;

/// What a figure costs at a door other than GraphQL (a file, a chart):
/// what its GraphQL field over `round` and `grouping` costs, one for the
/// field and its weight.
pub fn figure(
    figure: Figure,
    round: Uuid,
    grouping: Option<Grouping>,
    cache: Option<&FigureCache>,
) -> usize {
    let arg = |arg: &str| -> Arg {
        Ok(match arg {
            "roundId" => Some(ConstValue::String(round.to_string())),
            "grouping" => grouping.map(|g| {
                ConstValue::Enum(async_graphql::Name::new(match g {
                    Grouping::National => "NATIONAL",
                    Grouping::Group => "GROUP",
                    Grouping::Subgroup => "SUBGROUP",
                    Grouping::County => "COUNTY",
                }))
            }),
            _ => None,
        })
    };
    1 + weight(figure, &arg, cache)
}

/// The most rounds `maturitySeries` takes (its resolver refuses more).
pub const MAX_SERIES: usize = 10;

/// What a figure field adds to its one (the table above). An argument the
/// measure cannot know weighs as its worst: a panel, ten rounds, nothing
/// in memory.
fn weight(figure: Figure, arg: &dyn Fn(&str) -> Arg, cache: Option<&FigureCache>) -> usize {
    let uuid = |v: &ConstValue| match v {
        ConstValue::String(id) => Uuid::parse_str(id).ok(),
        _ => None,
    };
    let round = || arg("roundId").ok().flatten().as_ref().and_then(uuid);
    let grouping = || {
        let name = match arg("grouping") {
            Ok(Some(ConstValue::Enum(g))) => g.to_string(),
            Ok(Some(ConstValue::String(g))) => g,
            _ => return None,
        };
        match name.as_str() {
            "NATIONAL" => Some(Grouping::National),
            "GROUP" => Some(Grouping::Group),
            "SUBGROUP" => Some(Grouping::Subgroup),
            "COUNTY" => Some(Grouping::County),
            _ => None,
        }
    };
    let aggregates_cached = |round: Option<Uuid>| match (round, grouping(), cache) {
        (Some(r), Some(g), Some(c)) => c.has_aggregates(r, g),
        _ => false,
    };
    // `panel: true`, or a panel the measure cannot rule out.
    let panel = || !matches!(arg("panel"), Ok(None | Some(ConstValue::Boolean(false))));
    match figure {
        Figure::MaturityAggregates if aggregates_cached(round()) => CACHED,
        Figure::AnswerDistribution
            if round().is_some_and(|r| cache.is_some_and(|c| c.has_cells(r))) =>
        {
            CACHED
        }
        Figure::MaturityAggregates
        | Figure::AnswerDistribution
        | Figure::ProcessShare
        | Figure::EstimatedWeeklyHours => FIGURE,
        Figure::MaturityTrend if panel() => PANEL,
        Figure::MaturityTrend => {
            let baseline = match arg("baselineRoundId") {
                Ok(Some(id)) => uuid(&id),
                // The round's own baseline, when the round is in memory.
                Ok(None) => round().and_then(|r| cache.and_then(|c| c.round_baseline(r))),
                Err(()) => None,
            };
            if aggregates_cached(round()) && aggregates_cached(baseline) {
                CACHED
            } else {
                2 * FIGURE
            }
        }
        Figure::MaturitySeries => match arg("roundIds") {
            Ok(Some(ConstValue::List(ids))) => ids
                .iter()
                .take(MAX_SERIES)
                .map(|id| {
                    if aggregates_cached(uuid(id)) {
                        CACHED
                    } else {
                        FIGURE
                    }
                })
                .sum(),
            _ => MAX_SERIES * FIGURE,
        },
        Figure::DistributionTrend if panel() => PANEL,
        Figure::DistributionTrend
        | Figure::ProcessShareTrend
        | Figure::EstimatedWeeklyHoursTrend
        | Figure::MyComparison => 2 * FIGURE,
        Figure::Participation | Figure::ReleaseSummary => FIGURE / 2,
        Figure::History => FIGURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(query: &str) -> Result<Measure, TooDeep> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        measure(&doc, &Variables::default(), None)
    }

    /// `{ ...F0 }` with F0..F(levels-1) each spreading the next `spreads`
    /// times, and the last selecting `__typename`.
    fn bomb(levels: usize, spreads: usize) -> String {
        let mut q = String::from("{ ...F0 }");
        for i in 0..levels {
            let next = vec![format!("...F{}", i + 1); spreads].join(" ");
            q.push_str(&format!(" fragment F{i} on Query {{ {next} }}"));
        }
        q.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        q
    }

    #[test]
    fn a_fragment_bomb_is_measured_once_per_fragment() {
        let q = bomb(9, 6);
        assert_eq!(q.len(), 594, "the issue's document");
        let m = measured(&q).unwrap();
        // 6^9 `__typename`s and the spreads that reach them, counted, not walked.
        assert!(m.selections > 6usize.pow(9), "{m:?}");
        assert_eq!((m.depth, m.nesting, m.cost), (1, 10, 0), "{m:?}");
        // A chain long enough to overflow any count saturates.
        let m = measured(&bomb(30, 9)).unwrap();
        assert_eq!(m.selections, usize::MAX);
    }

    #[test]
    fn nesting_through_fragments_stops_the_walk() {
        // A chain of 40 fragments, each spreading the next once.
        let mut q = String::from("{ ...F0 }");
        for i in 0..40 {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        q.push_str(" fragment F40 on Query { __typename }");
        assert_eq!(measured(&q), Err(TooDeep));
        // A cycle measures as nothing (validation refuses it).
        let m = measured(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A viewer { role } }",
        )
        .unwrap();
        assert!(m.selections < 20, "{m:?}");
    }

    #[test]
    fn figures_cost_through_fragments_at_any_depth() {
        let trend = "maturityTrend(roundId: \"x\", grouping: GROUP, panel: true) { meanLevel }";
        let root = measured(&format!("{{ a: {trend} }}")).unwrap();
        assert_eq!(root.cost, PANEL + 2);
        // The same field nine named fragments down, and in inline fragments.
        let mut q = String::from("{ ...F0 }");
        for i in 0..9 {
            q.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        q.push_str(&format!(" fragment F9 on Query {{ a: {trend} ... on Query {{ ... on Query {{ b: {trend} }} }} }}"));
        let hidden = measured(&q).unwrap();
        assert_eq!(hidden.cost, 2 * (PANEL + 2), "{hidden:?}");
        assert_eq!(hidden.aliases, 2);
        // A fragment spread twice costs twice.
        let twice = measured(&format!(
            "{{ ...T x: viewer {{ role }} ...T }} fragment T on Query {{ a: {trend} }}"
        ))
        .unwrap();
        assert_eq!(twice.cost, 2 * (PANEL + 2) + 2);
        assert_eq!(twice.aliases, 3);
    }

    #[test]
    fn the_introspection_query_graphiql_sends_fits_the_default_limits() {
        let m = measured(INTROSPECTION).unwrap();
        let limits = crate::Limits::default();
        assert!(m.selections <= limits.selections, "{m:?}");
        assert!(m.depth <= limits.depth, "{m:?}");
        assert!(m.cost <= limits.complexity, "{m:?}");
        eprintln!("introspection: {m:?}");
    }

    /// graphql-js's `getIntrospectionQuery` with every option GraphiQL 4 turns on.
    const INTROSPECTION: &str = r"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types { ...FullType }
        directives {
          name description isRepeatable locations
          args(includeDeprecated: true) { ...InputValue }
        }
      }
    }
    fragment FullType on __Type {
      kind name description specifiedByURL isOneOf
      fields(includeDeprecated: true) {
        name description
        args(includeDeprecated: true) { ...InputValue }
        type { ...TypeRef }
        isDeprecated deprecationReason
      }
      inputFields(includeDeprecated: true) { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...TypeRef }
    }
    fragment InputValue on __InputValue {
      name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
    }
    fragment TypeRef on __Type {
      kind name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name } } } } } } } } }
    }";
}

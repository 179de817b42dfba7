//! Disclosure control: which cells of a round's tables may be shown.
//!
//! This module is pure (no database, no GraphQL) and is the only place that
//! decides suppression; [`crate::services::release`] feeds it the
//! municipalities behind every cell and stores what it decides as a round's
//! release plan, which every figure is then read through.
//!
//! # The model
//!
//! Every figure mognad shows about a round is a sum over a set of
//! municipalities of something each of them answered: a level-2 count, a sum
//! of levels (a mean times a public population), the number choosing an
//! option. Who responded is not secret (SKR admins see it per municipality),
//! the answers are. So a *cell* is a set of municipalities — a segment's
//! respondents in a round, or a segment's panel of municipalities that
//! responded in two rounds — and the answers of one round form a *family*:
//! the cells that count that round's answers. A panel cell belongs to two
//! families, since it shows both rounds' answers over the same set.
//!
//! The promise: **no linear combination of released cells of one family
//! depends on fewer than `min_cell` municipalities** (unless it is zero).
//! Subtracting a panel from the whole, one classification's group from the
//! other's, a group's shown subgroups from the group: every such figure is a
//! vector in the span of the released cells' membership vectors, and its
//! support is whom it is about. This is stronger than the ±1 combinations an
//! attacker would try first, and it covers every table, grouping,
//! classification, län (their segments overlap as one lattice: the columns
//! are the atoms every cell treats alike) and panel at once.
//!
//! # The rule
//!
//! 1. **Small cells** ([`Reason::SmallCell`]): a cell with fewer than
//!    `min_cell` municipalities is hidden.
//! 2. **Complementary** ([`Reason::Complementary`]), within each table's
//!    hierarchy (the nation → groups, a group → subgroups): where exactly one
//!    part of a whole is hidden, the shown part with the fewest municipalities
//!    (ties: the lowest code) is hidden too; where a hidden whole has only
//!    shown parts, its smallest part is hidden. Repeated to a fixed point.
//! 3. **Differencing** ([`Reason::Differencing`]): the released cells are
//!    audited ([`audit`]); while some combination depends on 1 to
//!    `min_cell − 1` municipalities, the smallest shown cell (ties: the
//!    lowest code) whose suppression takes that combination out of reach is
//!    hidden, and rule 2 runs again.
//!
//! A round's own table is planned once, when it closes ([`plan_round`]): for
//! the contract's cases rules 1 and 2 alone already pass the audit, so rule 3
//! only adds cells (e.g. two small subgroups whose sum is still small). Its
//! län table (the nation and its counties, a second hierarchy crossing the
//! first) is planned right after, beside it ([`plan_beside`]): rules 1 to 3
//! within nation → län, the group table's decisions kept, so län never
//! change the group figures; rule 3 there hides the smallest län that takes a
//! subgroup-meets-län or nation-minus-län combination out of reach. A pair
//! of rounds' panel tables are planned afterwards ([`plan_panels`]) against
//! everything both rounds have released: a panel cell is *admitted*, largest
//! first and the later round's classification first, only when the audit of
//! both rounds' families still passes with it. The audit already keeps every
//! hidden panel cell out of reach wherever reaching it would tell something
//! about too few municipalities, so rule 2 would only hide cells that tell
//! nothing new (a subgroup whose panel is all its respondents) and is not
//! applied to panels. Released cells are never taken back, so plans are
//! computed once and kept.

mod algebra;
mod bounds;
#[cfg(test)]
mod crossed;
mod planner;

pub use bounds::{Pin, first_pin};

pub use algebra::Undecided;
use algebra::light_vector;
#[cfg(test)]
pub use crossed::Crossed;
use planner::{Planner, System};

/// Why a cell is not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Fewer than `min_cell` municipalities.
    SmallCell,
    /// Hidden with another cell of its whole, so that cell cannot be had by subtraction.
    Complementary,
    /// Shown, it would combine with other released cells into a figure
    /// about fewer than `min_cell` municipalities.
    Differencing,
}

impl Reason {
    /// The reason as the API writes it (`SMALL_CELL`, …), in GraphQL and files.
    pub fn name(self) -> &'static str {
        match self {
            Self::SmallCell => "SMALL_CELL",
            Self::Complementary => "COMPLEMENTARY",
            Self::Differencing => "DIFFERENCING",
        }
    }

    /// Why, in Swedish, as a chart says it under the figure.
    pub fn explained_sv(self) -> &'static str {
        match self {
            Self::SmallCell => "för få svarande",
            Self::Complementary => "dold tillsammans med en annan dold grupp",
            Self::Differencing => "skulle kunna räknas fram ur andra visade siffror",
        }
    }
}

/// A set of municipalities, as indices into one list of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Members(Vec<u64>);

impl Members {
    pub fn insert(&mut self, i: usize) {
        let (word, bit) = (i / 64, i % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            (0..64)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i * 64 + b)
        })
    }

    /// The members of both.
    /// The members of `self` not in `other`.
    pub fn minus(&self, other: &Members) -> Members {
        let mut words: Vec<u64> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, a)| a & !other.0.get(i).copied().unwrap_or(0))
            .collect();
        while words.last() == Some(&0) {
            words.pop();
        }
        Members(words)
    }

    pub fn and(&self, other: &Members) -> Members {
        let mut words: Vec<u64> = self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect();
        while words.last() == Some(&0) {
            words.pop();
        }
        Members(words)
    }
}

impl FromIterator<usize> for Members {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut m = Members::default();
        iter.into_iter().for_each(|i| m.insert(i));
        m
    }
}

/// One cell of a table: a segment and the municipalities it counts.
#[derive(Clone, Debug)]
pub struct Cell {
    pub code: String,
    /// The whole this cell is a part of, by code, within the same table
    /// (`None` for the nation).
    pub parent: Option<String>,
    pub members: Members,
}

/// A table to plan: one hierarchy of cells, each counting the answers of
/// every family in `families` (a round's table: its round; a panel table:
/// both rounds).
#[derive(Clone, Debug)]
pub struct Table {
    pub families: Vec<usize>,
    pub cells: Vec<Cell>,
}

/// A cell released before, which a new plan must live with.
#[derive(Clone, Debug)]
pub struct Released {
    pub family: usize,
    pub members: Members,
    /// Whether the cell, if all its members share a value, excepts them
    /// (see [`bounds`]): true for a round's own table and län; false for
    /// panel cells, which constrain but are not taken as telling anyone's
    /// value (which of a pair's questions a panel cell shows depends on the
    /// pair, and hiding panel cells later must only ever free values).
    pub exempts: bool,
}

/// What the municipalities of each family answered, as indicators (the
/// members at 1 of each: at level 2 in an area, chose an option, left a
/// question unanswered), for the interval audit ([`bounds`]): one list per
/// family, by family number. Empty: the plan is made from the cells' members
/// alone (rules 1 to 3).
#[derive(Clone, Debug, Default)]
pub struct Values {
    pub families: Vec<Vec<Members>>,
    /// Per family: groups of its indicators of which every respondent is at
    /// 1 in exactly one (a single-choice question's options and its
    /// "unanswered"). Cells that each show a 0 for another option can leave
    /// a member only one, which no one indicator's audit sees.
    pub one_hot: Vec<Vec<Vec<usize>>>,
    /// Per family: (indicator, members whose value of it those who read
    /// the figures know anyway) — SKR sees who has answered every question
    /// everyone is asked, so their "unanswered" is 0 for all to see; the
    /// audit takes these values as given.
    pub known: Vec<Vec<(usize, Members)>>,
}

impl Values {
    fn of(&self, family: usize) -> &[Members] {
        self.families.get(family).map_or(&[], Vec::as_slice)
    }

    fn one_hot(&self, family: usize) -> &[Vec<usize>] {
        self.one_hot.get(family).map_or(&[], Vec::as_slice)
    }

    fn known(&self, family: usize, indicator: usize) -> Option<&Members> {
        self.known
            .get(family)?
            .iter()
            .find(|(i, _)| *i == indicator)
            .map(|(_, m)| m)
    }
}

/// Plans a round's own table (rules 1, 2 and 3); one decision per cell,
/// `None` for shown.
pub fn plan_round(min_cell: i64, table: &Table) -> Vec<Option<Reason>> {
    plan_beside(min_cell, &[], table)
}

/// Plans a table beside cells already released (a round's län table beside
/// its own group table and panels): rules 1, 2 and 3 within the new table,
/// the released cells kept as they are. One decision per cell.
pub fn plan_beside(min_cell: i64, released: &[Released], table: &Table) -> Vec<Option<Reason>> {
    plan_beside_values(min_cell, released, table, &Values::default())
}

/// [`plan_beside`] with the interval audit (rule 4) of `values`, insiders
/// included, run after every step of rules 2 and 3.
pub fn plan_beside_values(
    min_cell: i64,
    released: &[Released],
    table: &Table,
    values: &Values,
) -> Vec<Option<Reason>> {
    let tables = std::slice::from_ref(table);
    let mut planner = Planner::new(min_cell, released, tables).with_values(values, true);
    planner.primary();
    planner.repair(true);
    planner.hidden.remove(0)
}

/// [`plan_beside_values`] from decisions already made (a plan stored before
/// the interval audit): what they hid stays hidden, and the audit only hides more.
pub fn replan_beside(
    min_cell: i64,
    released: &[Released],
    table: &Table,
    before: Vec<Option<Reason>>,
    values: &Values,
) -> Vec<Option<Reason>> {
    let tables = std::slice::from_ref(table);
    let mut planner = Planner::new(min_cell, released, tables).with_values(values, true);
    planner.algebra = false;
    planner.hidden = vec![before];
    planner.primary();
    planner.repair(true);
    planner.hidden.remove(0)
}

/// [`plan_panels_values`] from decisions already made: what they hid stays
/// hidden, nothing hidden is admitted, and the audit only hides more.
pub fn replan_panels(
    min_cell: i64,
    released: &[Released],
    tables: &[Table],
    before: Vec<Vec<Option<Reason>>>,
    values: &Values,
) -> Vec<Vec<Option<Reason>>> {
    let mut planner = Planner::new(min_cell, released, tables).with_values(values, false);
    planner.algebra = false;
    planner.hidden = before;
    planner.primary();
    planner.repair(false);
    planner.hidden
}

/// Plans panel tables against the cells already released: small cells are
/// hidden, the others admitted one by one (tables in order; within a table
/// the largest first, a whole before its parts, ties by the highest code, so
/// the lowest code is the one left out) when the audit of every family the
/// table counts still passes. One list of decisions per table.
pub fn plan_panels(
    min_cell: i64,
    released: &[Released],
    tables: &[Table],
) -> Vec<Vec<Option<Reason>>> {
    plan_panels_values(min_cell, released, tables, &Values::default())
}

/// [`plan_panels`], then the interval audit (rule 4) of `values` as seen by
/// everyone (who responded known), hiding panel cells until it passes.
pub fn plan_panels_values(
    min_cell: i64,
    released: &[Released],
    tables: &[Table],
    values: &Values,
) -> Vec<Vec<Option<Reason>>> {
    let mut planner = Planner::new(min_cell, released, tables).with_values(values, false);
    planner.primary();
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let mut cells: Vec<usize> = (0..table.cells.len())
            .filter(|&c| planner.hidden[t][c].is_none())
            .collect();
        cells.sort_by(|&a, &b| {
            let (x, y) = (&table.cells[a], &table.cells[b]);
            y.members
                .len()
                .cmp(&x.members.len())
                .then_with(|| depth(table, x).cmp(&depth(table, y)))
                .then_with(|| y.code.cmp(&x.code))
        });
        order.extend(cells.into_iter().map(|c| (t, c)));
    }
    for &(t, c) in &order {
        planner.hidden[t][c] = Some(Reason::Differencing);
    }
    for &(t, c) in &order {
        planner.hidden[t][c] = None;
        if planner.disclosure(&tables[t].families).is_some() {
            planner.hidden[t][c] = Some(Reason::Differencing);
        }
    }
    // Admission leaves nothing to repair; the audit runs once more all the same.
    planner.repair(false);
    planner.hidden
}

/// A figure made of two released cells (a round beside its baseline) is
/// shown only where both are; the first cell's reason wins where both are hidden.
pub fn both(first: Option<Reason>, second: Option<Reason>) -> Option<Reason> {
    first.or(second)
}

/// The municipalities that the lightest nonzero combination of `sets`
/// depends on, when they are fewer than `min_cell`: `Ok(None)` means no
/// combination reveals anything about fewer than `min_cell` municipalities.
pub fn audit(min_cell: i64, sets: &[&Members]) -> Result<Option<Members>, Undecided> {
    let system = System::new(sets, None);
    Ok(
        light_vector(&system.rows, &system.weights, limit(min_cell))?.map(|v| {
            system
                .municipalities(&v)
                .into_iter()
                .filter(|(_, x)| *x != 0)
                .map(|(m, _)| m)
                .collect()
        }),
    )
}

fn limit(min_cell: i64) -> usize {
    usize::try_from(min_cell).unwrap_or(0)
}

fn depth(table: &Table, cell: &Cell) -> usize {
    let mut depth = 0;
    let mut parent = cell.parent.as_deref();
    while let Some(code) = parent {
        depth += 1;
        parent = table
            .cells
            .iter()
            .find(|c| c.code == code)
            .and_then(|c| c.parent.as_deref());
        if depth > table.cells.len() {
            break;
        }
    }
    depth
}

#[cfg(test)]
mod tests;

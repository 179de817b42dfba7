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
//! classification (their segments overlap as one lattice: the columns are
//! the atoms every cell treats alike) and panel at once.
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
//! only adds cells (e.g. two small subgroups whose sum is still small). A pair
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

use std::collections::{BTreeSet, HashMap};

pub use algebra::Undecided;
use algebra::{Row, in_span, light_vector};

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
}

/// Plans a round's own table (rules 1, 2 and 3); one decision per cell,
/// `None` for shown.
pub fn plan_round(min_cell: i64, table: &Table) -> Vec<Option<Reason>> {
    let tables = std::slice::from_ref(table);
    let mut planner = Planner::new(min_cell, &[], tables);
    planner.primary();
    planner.repair(true);
    planner.hidden.remove(0)
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
    let mut planner = Planner::new(min_cell, released, tables);
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

/// A combination found by the audit, by municipality; `None` when the audit
/// was undecided.
type Witness = Option<HashMap<usize, i128>>;

/// Released cells as a linear system over atoms: the groups of
/// municipalities that every cell (and the optional extra vector) treats
/// alike. Column weights are the atoms' sizes.
struct System {
    rows: Vec<Row>,
    weights: Vec<usize>,
    /// The municipalities of each atom.
    atoms: Vec<Vec<usize>>,
    extra: Option<Row>,
}

impl System {
    fn new(sets: &[&Members], extra: Option<&HashMap<usize, i128>>) -> Self {
        let mut everyone: BTreeSet<usize> = sets.iter().flat_map(|s| s.iter()).collect();
        if let Some(extra) = extra {
            everyone.extend(extra.keys());
        }
        let mut index: HashMap<(Vec<bool>, i128), usize> = HashMap::new();
        let mut atoms: Vec<Vec<usize>> = Vec::new();
        let mut signatures = Vec::new();
        for m in everyone {
            let key = (
                sets.iter().map(|s| s.contains(m)).collect::<Vec<bool>>(),
                extra.and_then(|e| e.get(&m).copied()).unwrap_or(0),
            );
            let atom = *index.entry(key.clone()).or_insert_with(|| {
                atoms.push(Vec::new());
                signatures.push(key);
                atoms.len() - 1
            });
            atoms[atom].push(m);
        }
        let rows = (0..sets.len())
            .map(|s| {
                signatures
                    .iter()
                    .map(|(inside, _)| i128::from(inside[s]))
                    .collect()
            })
            .collect();
        Self {
            rows,
            weights: atoms.iter().map(Vec::len).collect(),
            extra: extra.map(|_| signatures.iter().map(|(_, x)| *x).collect()),
            atoms,
        }
    }

    /// A vector over atoms as coefficients per municipality.
    fn municipalities(&self, v: &Row) -> HashMap<usize, i128> {
        self.atoms
            .iter()
            .zip(v)
            .filter(|(_, x)| **x != 0)
            .flat_map(|(atom, &x)| atom.iter().map(move |&m| (m, x)))
            .collect()
    }
}

struct Planner<'a> {
    limit: usize,
    released: &'a [Released],
    tables: &'a [Table],
    /// Per table and cell: `None` while shown.
    hidden: Vec<Vec<Option<Reason>>>,
}

impl<'a> Planner<'a> {
    fn new(min_cell: i64, released: &'a [Released], tables: &'a [Table]) -> Self {
        Self {
            limit: limit(min_cell),
            released,
            tables,
            hidden: tables.iter().map(|t| vec![None; t.cells.len()]).collect(),
        }
    }

    /// Rule 1.
    fn primary(&mut self) {
        for (t, table) in self.tables.iter().enumerate() {
            for (c, cell) in table.cells.iter().enumerate() {
                if cell.members.len() < self.limit {
                    self.hidden[t][c] = Some(Reason::SmallCell);
                }
            }
        }
    }

    /// Rule 2, to a fixed point.
    fn complement(&mut self) {
        for (t, table) in self.tables.iter().enumerate() {
            let hidden = &mut self.hidden[t];
            loop {
                let mut changed = false;
                for whole in 0..table.cells.len() {
                    let parts: Vec<usize> = (0..table.cells.len())
                        .filter(|&p| {
                            table.cells[p].parent.as_deref()
                                == Some(table.cells[whole].code.as_str())
                        })
                        .collect();
                    if parts.len() < 2 {
                        continue;
                    }
                    let hidden_parts = parts.iter().filter(|&&p| hidden[p].is_some()).count();
                    let needs_another =
                        hidden_parts == 1 || (hidden_parts == 0 && hidden[whole].is_some());
                    let smallest_shown =
                        parts
                            .iter()
                            .filter(|&&p| hidden[p].is_none())
                            .min_by(|&&a, &&b| {
                                let (x, y) = (&table.cells[a], &table.cells[b]);
                                x.members
                                    .len()
                                    .cmp(&y.members.len())
                                    .then_with(|| x.code.cmp(&y.code))
                            });
                    if needs_another && let Some(&p) = smallest_shown {
                        hidden[p] = Some(Reason::Complementary);
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
        }
    }

    /// The released and shown cells that count the answers of `family`.
    fn sets(&self, family: usize) -> Vec<&'a Members> {
        let released = self
            .released
            .iter()
            .filter(|r| r.family == family)
            .map(|r| &r.members);
        let shown = self
            .tables
            .iter()
            .zip(&self.hidden)
            .filter(|(t, _)| t.families.contains(&family))
            .flat_map(|(t, hidden)| {
                t.cells
                    .iter()
                    .zip(hidden)
                    .filter(|(_, h)| h.is_none())
                    .map(|(c, _)| &c.members)
            });
        released.chain(shown).collect()
    }

    /// The first of `families` whose released cells combine into a figure
    /// about too few municipalities, with that combination.
    fn disclosure(&self, families: &[usize]) -> Option<(usize, Witness)> {
        for &family in families {
            let sets = self.sets(family);
            let system = System::new(&sets, None);
            match light_vector(&system.rows, &system.weights, self.limit) {
                Ok(None) => {}
                Ok(Some(v)) => return Some((family, Some(system.municipalities(&v)))),
                Err(Undecided) => return Some((family, None)),
            }
        }
        None
    }

    /// Every family any table or released cell counts.
    fn families(&self) -> Vec<usize> {
        let all: BTreeSet<usize> = self
            .tables
            .iter()
            .flat_map(|t| t.families.iter().copied())
            .chain(self.released.iter().map(|r| r.family))
            .collect();
        all.into_iter().collect()
    }

    /// Rule 3 (with rule 2 after each step, if `complement`) until the audit passes.
    fn repair(&mut self, complement: bool) {
        let families = self.families();
        loop {
            if complement {
                self.complement();
            }
            let Some((family, witness)) = self.disclosure(&families) else {
                return;
            };
            if !self.hide_for(family, witness.as_ref()) {
                // Only released cells are left to blame; nothing this plan
                // shows can be taken back from them.
                tracing::error!(family, "released cells fail the disclosure audit");
                return;
            }
        }
    }

    /// Hides the smallest shown cell counting `family` (ties: the lowest
    /// code) whose suppression takes `witness` out of the released span, or
    /// else the smallest one. False when no shown cell counts `family`.
    fn hide_for(&mut self, family: usize, witness: Option<&HashMap<usize, i128>>) -> bool {
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            if table.families.contains(&family) {
                candidates.extend(
                    (0..table.cells.len())
                        .filter(|&c| self.hidden[t][c].is_none())
                        .map(|c| (t, c)),
                );
            }
        }
        candidates.sort_by(|&(ta, a), &(tb, b)| {
            let (x, y) = (&self.tables[ta].cells[a], &self.tables[tb].cells[b]);
            x.members
                .len()
                .cmp(&y.members.len())
                .then_with(|| x.code.cmp(&y.code))
                .then_with(|| ta.cmp(&tb))
        });
        let Some(&first) = candidates.first() else {
            return false;
        };
        let chosen = witness
            .and_then(|w| {
                candidates.iter().copied().find(|&(t, c)| {
                    self.hidden[t][c] = Some(Reason::Differencing);
                    let sets = self.sets(family);
                    let system = System::new(&sets, Some(w));
                    let reachable = system
                        .extra
                        .as_ref()
                        .is_none_or(|v| in_span(&system.rows, v).unwrap_or(true));
                    self.hidden[t][c] = None;
                    !reachable
                })
            })
            .unwrap_or(first);
        self.hidden[chosen.0][chosen.1] = Some(Reason::Differencing);
        true
    }
}

#[cfg(test)]
mod tests;

//! The planner's machinery: released cells as a linear system over atoms
//! ([`System`]) and the rules applied cell by cell ([`Planner`]).

use std::collections::{BTreeSet, HashMap};

use super::Members;
use super::algebra::{Row, in_span, light_vector};
use super::bounds::{self, Pin};
use super::{Reason, Released, Table, Undecided, Values, limit};

/// A combination found by the audit, by municipality; `None` when the audit
/// was undecided.
pub(super) type Witness = Option<HashMap<usize, i128>>;

/// Released cells as a linear system over atoms: the groups of
/// municipalities that every cell (and the optional extra vector) treats
/// alike. Column weights are the atoms' sizes.
pub(super) struct System {
    pub(super) rows: Vec<Row>,
    pub(super) weights: Vec<usize>,
    /// The municipalities of each atom.
    pub(super) atoms: Vec<Vec<usize>>,
    pub(super) extra: Option<Row>,
}

impl System {
    pub(super) fn new(sets: &[&Members], extra: Option<&HashMap<usize, i128>>) -> Self {
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
    pub(super) fn municipalities(&self, v: &Row) -> HashMap<usize, i128> {
        self.atoms
            .iter()
            .zip(v)
            .filter(|(_, x)| **x != 0)
            .flat_map(|(atom, &x)| atom.iter().map(move |&m| (m, x)))
            .collect()
    }
}

pub(super) struct Planner<'a> {
    pub(super) limit: usize,
    pub(super) released: &'a [Released],
    pub(super) tables: &'a [Table],
    /// Per table and cell: `None` while shown.
    pub(super) hidden: Vec<Vec<Option<Reason>>>,
    /// What each family answered, for the interval audit (none: no audit).
    values: Option<&'a Values>,
    /// Whether the interval audit also takes each member's own knowledge.
    insiders: bool,
    /// Whether rule 3 runs: not when starting from decisions the algebra
    /// already passed (hiding more cells only shrinks what can be combined).
    pub(super) algebra: bool,
    /// Per (family, indicator): members found free for everyone. Hiding a
    /// cell only widens what the counts allow, so they stay free while a
    /// plan is repaired (no cell is shown again).
    free: std::cell::RefCell<HashMap<(usize, usize), Members>>,
}

/// What the interval audit found pinned.
#[derive(Clone, Copy, Debug)]
pub(super) enum Pinned {
    /// One indicator's value (`pin: None` when the audit could not decide).
    Value {
        family: usize,
        indicator: usize,
        pin: Option<Pin>,
    },
    /// A member left with one category of a one-hot group.
    Answer {
        family: usize,
        group: usize,
        member: usize,
    },
}

impl<'a> Planner<'a> {
    pub(super) fn new(min_cell: i64, released: &'a [Released], tables: &'a [Table]) -> Self {
        Self {
            limit: limit(min_cell),
            released,
            tables,
            hidden: tables.iter().map(|t| vec![None; t.cells.len()]).collect(),
            values: None,
            insiders: false,
            algebra: true,
            free: Default::default(),
        }
    }

    /// Adds the interval audit (rule 4) of `values` to [`Self::repair`].
    pub(super) fn with_values(mut self, values: &'a Values, insiders: bool) -> Self {
        self.values = Some(values);
        self.insiders = insiders;
        self
    }

    /// Rule 1.
    pub(super) fn primary(&mut self) {
        for (t, table) in self.tables.iter().enumerate() {
            for (c, cell) in table.cells.iter().enumerate() {
                if cell.members.len() < self.limit {
                    self.hidden[t][c] = Some(Reason::SmallCell);
                }
            }
        }
    }

    /// Rule 2, to a fixed point.
    pub(super) fn complement(&mut self) {
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

    /// Per set of [`Self::sets`]: whether it excepts its members where they
    /// all share a value (not panel cells: see [`Released::exempts`]).
    fn exempting(&self, family: usize) -> Vec<bool> {
        self.cells(family).into_iter().map(|(_, e)| e).collect()
    }

    /// How many of [`Self::sets`] are released cells (they come first).
    fn released_count(&self, family: usize) -> usize {
        self.released.iter().filter(|r| r.family == family).count()
    }

    /// The released and shown cells that count the answers of `family`.
    pub(super) fn sets(&self, family: usize) -> Vec<&'a Members> {
        self.cells(family).into_iter().map(|(m, _)| m).collect()
    }

    /// The released cells of `family` (first), then the shown cells of the
    /// tables that count it, each with whether it excepts its all-same
    /// members (panel tables count two families and do not).
    fn cells(&self, family: usize) -> Vec<(&'a Members, bool)> {
        let released = self
            .released
            .iter()
            .filter(|r| r.family == family)
            .map(|r| (&r.members, r.exempts));
        let shown = self
            .tables
            .iter()
            .zip(&self.hidden)
            .filter(|(t, _)| t.families.contains(&family))
            .flat_map(|(t, hidden)| {
                let panel = t.families.len() > 1;
                t.cells
                    .iter()
                    .zip(hidden)
                    .filter(|(_, h)| h.is_none())
                    .map(move |(c, _)| (&c.members, !panel))
            });
        released.chain(shown).collect()
    }

    /// The first of `families` whose released cells combine into a figure
    /// about too few municipalities, with that combination.
    pub(super) fn disclosure(&self, families: &[usize]) -> Option<(usize, Witness)> {
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
    pub(super) fn families(&self) -> Vec<usize> {
        let all: BTreeSet<usize> = self
            .tables
            .iter()
            .flat_map(|t| t.families.iter().copied())
            .chain(self.released.iter().map(|r| r.family))
            .collect();
        all.into_iter().collect()
    }

    /// Rules 3 and 4 (with rule 2 after each step, if `complement`) until
    /// both audits pass.
    pub(super) fn repair(&mut self, complement: bool) {
        let families = self.families();
        loop {
            if complement {
                self.complement();
            }
            let algebra = if self.algebra {
                self.disclosure(&families)
            } else {
                None
            };
            let hid = if let Some((family, witness)) = algebra {
                self.hide_for(family, witness.as_ref())
            } else if let Some(pinned) = self.interval(&families) {
                self.hide_to_free(pinned)
            } else {
                return;
            };
            if !hid {
                // Only released cells are left to blame; nothing this plan
                // shows can be taken back from them.
                tracing::error!("released cells fail the disclosure audit");
                return;
            }
        }
    }

    /// Rule 4's audit: the first value of some family's indicator that the
    /// released and shown cells pin, outside the exception; then the first
    /// member whose one-hot group they leave with one category.
    pub(super) fn interval(&self, families: &[usize]) -> Option<Pinned> {
        let values = self.values?;
        for &family in families {
            let indicators = values.of(family);
            if indicators.is_empty() {
                continue;
            }
            let split = self.released_count(family);
            for (i, ones) in indicators.iter().enumerate() {
                // Everyone (SKR: with what it knows anyway), then each kommun
                // with its own answers (it does not see who has answered what).
                let reduced = self.indicator_sets(family, i, true);
                let reduced: Vec<&Members> = reduced.iter().collect();
                let full = self.sets(family);
                let exempting = self.exempting(family);
                let known_free = self.free.borrow().get(&(family, i)).cloned();
                let outsiders = match known_free {
                    Some(free)
                        if bounds::candidates(&reduced, &exempting, ones)
                            .iter()
                            .all(|&m| free.contains(m)) =>
                    {
                        Ok(None)
                    }
                    _ => bounds::free_members(&reduced, &exempting, split, ones).map(
                        |(free, pin)| {
                            self.free.borrow_mut().insert((family, i), free);
                            pin
                        },
                    ),
                };
                let found = outsiders.and_then(|p| match p {
                    None if self.insiders => {
                        bounds::first_pin(&full, &exempting, split, ones, Some(self.limit))
                    }
                    p => Ok(p),
                });
                match found {
                    Ok(None) => {}
                    Ok(Some(pin)) => {
                        return Some(Pinned::Value {
                            family,
                            indicator: i,
                            pin: Some(pin),
                        });
                    }
                    Err(Undecided) => {
                        return Some(Pinned::Value {
                            family,
                            indicator: i,
                            pin: None,
                        });
                    }
                }
            }
            let sets = self.sets(family);
            for (g, group) in values.one_hot(family).iter().enumerate() {
                let categories: Vec<&Members> = group.iter().map(|&i| &indicators[i]).collect();
                if let Some(member) =
                    bounds::one_hot_pin(&sets, &self.exempting(family), &categories)
                {
                    return Some(Pinned::Answer {
                        family,
                        group: g,
                        member,
                    });
                }
            }
        }
        None
    }

    /// The sets an indicator is audited over: the released and shown cells,
    /// less (if `outsider`) the members whose value of it SKR knows anyway.
    fn indicator_sets(&self, family: usize, indicator: usize, outsider: bool) -> Vec<Members> {
        let known = self
            .values
            .filter(|_| outsider)
            .and_then(|v| v.known(family, indicator));
        self.sets(family)
            .into_iter()
            .map(|s| known.map_or_else(|| s.clone(), |k| s.minus(k)))
            .collect()
    }

    /// Hides the smallest shown cell counting the family (ties: the lowest
    /// code) whose suppression frees the pinned value, or else the smallest
    /// one holding the pinned member, or else the smallest one. False when
    /// no shown cell counts the family.
    fn hide_to_free(&mut self, pinned: Pinned) -> bool {
        let family = match pinned {
            Pinned::Value { family, .. } | Pinned::Answer { family, .. } => family,
        };
        let candidates = self.candidates(family);
        let Some(&first) = candidates.first() else {
            return false;
        };
        let holding = |planner: &Self, member: usize| {
            candidates
                .iter()
                .copied()
                .find(|&(t, c)| planner.tables[t].cells[c].members.contains(member))
        };
        let chosen = match (pinned, self.values) {
            (
                Pinned::Value {
                    indicator,
                    pin: Some(pin),
                    ..
                },
                Some(values),
            ) => {
                let ones = &values.of(family)[indicator];
                let split = self.released_count(family);
                candidates
                    .iter()
                    .copied()
                    .find(|&(t, c)| {
                        self.hidden[t][c] = Some(Reason::Differencing);
                        let sets = self.indicator_sets(family, indicator, pin.insider.is_none());
                        let sets: Vec<&Members> = sets.iter().collect();
                        let exempting = self.exempting(family);
                        let still =
                            bounds::holds(&sets, &exempting, split, ones, pin).unwrap_or(true);
                        self.hidden[t][c] = None;
                        !still
                    })
                    .or_else(|| holding(self, pin.member))
            }
            (Pinned::Answer { group, member, .. }, Some(values)) => {
                // The smallest cell whose 0 takes an option away from it.
                let indicators = values.of(family);
                let categories: Vec<&Members> = values.one_hot(family)[group]
                    .iter()
                    .map(|&i| &indicators[i])
                    .collect();
                candidates
                    .iter()
                    .copied()
                    .find(|&(t, c)| {
                        let cell = &self.tables[t].cells[c].members;
                        cell.contains(member) && bounds::excludes(cell, &categories, member)
                    })
                    .or_else(|| holding(self, member))
            }
            _ => None,
        }
        .unwrap_or(first);
        tracing::debug!(
            cell = self.tables[chosen.0].cells[chosen.1].code,
            family,
            ?pinned,
            "hidden: it pinned a value"
        );
        self.hidden[chosen.0][chosen.1] = Some(Reason::Differencing);
        true
    }

    /// The shown cells that count `family`, smallest first (ties: the lowest code).
    fn candidates(&self, family: usize) -> Vec<(usize, usize)> {
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
        candidates
    }

    /// Hides the smallest shown cell counting `family` (ties: the lowest
    /// code) whose suppression takes `witness` out of the released span, or
    /// else the smallest one. False when no shown cell counts `family`.
    pub(super) fn hide_for(
        &mut self,
        family: usize,
        witness: Option<&HashMap<usize, i128>>,
    ) -> bool {
        let candidates = self.candidates(family);
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

//! The interval audit: which municipalities' answers the released counts pin.
//!
//! The algebra ([`super::audit`]) makes sure that no combination of released
//! cells is *about* fewer than `min_cell` municipalities. That is support,
//! not protection: a count is a whole number between 0 and its cell's size,
//! so bounds can pin single answers even when every combination is about
//! many (nationally 37 at level 2, 32 of them in the panel, Örebro län 6 of
//! 6: the other 40 non-panel respondents are all at level 1).
//!
//! # The formulation
//!
//! Every released count is a sum over a cell of a per-municipality
//! *indicator* (at level 2 in an area, chose an option, left a question
//! unanswered), which is 0 or 1. Take one indicator of one family (a round's
//! answers) and the sets released about that family (shown cells of its own
//! table, its län, the panels of its pairs). The values consistent with what
//! is released form the polytope `{x ∈ [0,1]ⁿ : Σ_{m∈S} x_m = c_S for each
//! shown S}`, and the true answers `x*` are one of its vertices. A
//! municipality's value is *pinned* when it is the same at every point of the
//! polytope, which (the polytope being convex, `x*` at the box's bounds)
//! holds exactly when no direction `d` of the tangent cone at `x*` moves it:
//! `Σ_{m∈S} d_m = 0` for every shown `S`, `d_m ≥ 0` where `x*_m = 0`,
//! `d_m ≤ 0` where `x*_m = 1`. With `d_m = ±e_m`, `e ≥ 0`, the free
//! municipalities are the support of the cone `{e ≥ 0 : Be = 0}`.
//!
//! Who responded is part of what is known (SKR sees it): the sets are
//! respondents, so this is the SKR view, and the anonymous view, which knows
//! less, pins no more. An *insider* (a kommun, which knows its own answers)
//! fixes its own `e` at 0.
//!
//! # Two ways to the support
//!
//! - **A network** when the sets split into two laminar families (a round's
//!   table — nation, groups, subgroups — and its län): every municipality is
//!   then an edge between the smallest set of each family that holds it, a
//!   released set is a node whose flow is fixed, and the cone is the
//!   circulations of the residual graph (an edge forward where `x* = 0`,
//!   backward where `x* = 1`; the two roots joined both ways, the total being
//!   free unless released). A value is free exactly when its edge lies on a
//!   directed cycle: its two ends are in one strongly connected component.
//!   Exact, in linear time, so insiders are checked one by one.
//! - **A whole-number program** otherwise (panels cross both): the
//!   polytope's corners are no longer whole numbers there, and fractions
//!   would leave free what whole counts pin, so the audit asks for whole
//!   numbers of ones per atom (see [`lp_free`]). The solver is `microlp`
//!   (pure Rust, so no C++ toolchain in the build, unlike HiGHS; branch and
//!   bound; a time limit per solve); a solve that does not end in an optimum
//!   makes the audit [`Undecided`], which the planner treats as unsafe.
//!
//! # The exception
//!
//! A member of a shown cell whose members all share the indicator (a count
//! of 0 or of the cell's size) is not reported: the cell itself tells that
//! value to everyone who reads the table (the report's own tables show such
//! cells), so pinning it again tells nothing new.

use std::time::Duration;

use super::{Members, Undecided};

/// A value the released sets pin: `member`'s indicator, as seen by everyone
/// (`insider: None`) or by `insider`, which knows its own answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pin {
    pub member: usize,
    pub insider: Option<usize>,
}

/// The first pinned value of an indicator (members at 1: `ones`) over the
/// shown sets of one family, or `None`. With `insiders`, also the values a
/// member of the sets pins knowing its own; the whole-number way checks outsiders only.
///
/// `split`: the sets are likely two laminar families, the first `split` of
/// them and the rest (a table's released cells, then another table's).
pub fn first_pin(
    sets: &[&Members],
    exempting: &[bool],
    split: usize,
    ones: &Members,
    insiders: Option<usize>,
) -> Result<Option<Pin>, Undecided> {
    let (_, pin) = free_members(sets, exempting, split, ones)?;
    let Some(min_cell) = insiders.filter(|_| pin.is_none()) else {
        return Ok(pin);
    };
    let audit = Audit::new(sets, exempting, ones);
    let Some(net) = Network::of(sets, split, ones).filter(|_| !audit.candidates.is_empty()) else {
        return Ok(None);
    };
    for insider in net.lonely_edges() {
        let free = net.free(Some(insider));
        if let Some(&m) = audit.candidates.iter().find(|&&m| {
            m != insider
                && !free.contains(m)
                && !audit.told_to(sets, exempting, ones, insider, m, min_cell)
        }) {
            return Ok(Some(Pin {
                member: m,
                insider: Some(insider),
            }));
        }
    }
    Ok(None)
}

/// The members everyone can move (who responded known), and the first
/// candidate that is pinned, if any.
pub fn free_members(
    sets: &[&Members],
    exempting: &[bool],
    split: usize,
    ones: &Members,
) -> Result<(Members, Option<Pin>), Undecided> {
    let audit = Audit::new(sets, exempting, ones);
    if audit.candidates.is_empty() {
        return Ok((Members::default(), None));
    }
    let free = match Network::of(sets, split, ones) {
        Some(net) => net.free(None),
        None => lp_free(sets, ones)?,
    };
    let pin = audit
        .candidates
        .iter()
        .find(|&&m| !free.contains(m))
        .map(|&m| Pin {
            member: m,
            insider: None,
        });
    Ok((free, pin))
}

/// The members a pin would be news about (see [`Audit`]).
pub fn candidates(sets: &[&Members], exempting: &[bool], ones: &Members) -> Vec<usize> {
    Audit::new(sets, exempting, ones).candidates
}

/// Whether `pin` still holds over `sets` (the planner's test of a candidate
/// cell to hide).
pub fn holds(
    sets: &[&Members],
    exempting: &[bool],
    split: usize,
    ones: &Members,
    pin: Pin,
) -> Result<bool, Undecided> {
    let audit = Audit::new(sets, exempting, ones);
    if !audit.candidates.contains(&pin.member) {
        return Ok(false);
    }
    Ok(match Network::of(sets, split, ones) {
        Some(net) => !net.free(pin.insider).contains(pin.member),
        None if pin.insider.is_none() => !lp_free(sets, ones)?.contains(pin.member),
        // An insider's pin found by the network, which hiding a cell turned
        // into sets the network does not take: count it as still there.
        None => true,
    })
}

/// A member the shown sets leave only one category of a one-hot group (its
/// own): every other category has a count of 0 in some shown set holding
/// it, and no shown set tells its own category as all-same. Returns the
/// member; `categories` are the group's members-at-1 sets.
pub fn one_hot_pin(
    sets: &[&Members],
    exempting: &[bool],
    categories: &[&Members],
) -> Option<usize> {
    let mut everyone = Members::default();
    sets.iter()
        .for_each(|s| s.iter().for_each(|m| everyone.insert(m)));
    // Per set and category: the count.
    let counts: Vec<Vec<usize>> = sets
        .iter()
        .map(|s| categories.iter().map(|c| s.and(c).len()).collect())
        .collect();
    everyone.iter().find(|&m| {
        let Some(own) = categories.iter().position(|c| c.contains(m)) else {
            return false;
        };
        let holding: Vec<usize> = (0..sets.len()).filter(|&s| sets[s].contains(m)).collect();
        let told = holding
            .iter()
            .any(|&s| exempting.get(s).copied().unwrap_or(true) && counts[s][own] == sets[s].len());
        let left = (0..categories.len())
            .filter(|&k| !holding.iter().any(|&s| counts[s][k] == 0))
            .count();
        !told && left == 1
    })
}

/// Whether `set` shows a 0 for a category other than `member`'s own.
pub fn excludes(set: &Members, categories: &[&Members], member: usize) -> bool {
    categories
        .iter()
        .any(|c| !c.contains(member) && set.and(c).is_empty())
}

/// The members a pin would tell about: in some set, and in no shown set
/// whose members all share the indicator.
struct Audit {
    candidates: Vec<usize>,
}

impl Audit {
    /// Whether a shown set holding both tells `insider` the value of `m`
    /// as an all-same set of at least `min_cell` others would tell it to
    /// everyone: its members but the insider all share the value, and there
    /// are at least `min_cell` of them (the nation with one kommun choosing
    /// an option tells that kommun that the others did not; a county of
    /// five with one at level 2 tells it about four, which is refused).
    #[allow(clippy::too_many_arguments)]
    fn told_to(
        &self,
        sets: &[&Members],
        exempting: &[bool],
        ones: &Members,
        insider: usize,
        m: usize,
        min_cell: usize,
    ) -> bool {
        sets.iter().enumerate().any(|(i, s)| {
            if !exempting.get(i).copied().unwrap_or(true)
                || !s.contains(insider)
                || !s.contains(m)
                || s.len() < min_cell + 1
            {
                return false;
            }
            let count = s.and(ones).len() - usize::from(ones.contains(insider));
            count == 0 || count == s.len() - 1
        })
    }

    fn new(sets: &[&Members], exempting: &[bool], ones: &Members) -> Self {
        let mut everyone = Members::default();
        let mut exempt = Members::default();
        for (i, s) in sets.iter().enumerate() {
            let count = s.and(ones).len();
            let shared =
                exempting.get(i).copied().unwrap_or(true) && (count == 0 || count == s.len());
            for m in s.iter() {
                everyone.insert(m);
                if shared {
                    exempt.insert(m);
                }
            }
        }
        Self {
            candidates: everyone.iter().filter(|&m| !exempt.contains(m)).collect(),
        }
    }
}

/// The residual graph of a system of two laminar families (see the module
/// documentation). Nodes: the sets of the first family, its root, the sets
/// of the second, its root.
struct Network {
    nodes: usize,
    /// Per member: (from, to) in the direction its value can move.
    edges: Vec<(usize, usize, usize)>,
    roots: (usize, usize),
}

impl Network {
    fn of(sets: &[&Members], split: usize, ones: &Members) -> Option<Self> {
        let mut order: Vec<usize> = (0..sets.len()).collect();
        order.sort_by(|&a, &b| sets[b].len().cmp(&sets[a].len()).then(a.cmp(&b)));
        let all_laminar = |family: &[usize]| {
            family
                .iter()
                .enumerate()
                .all(|(i, &s)| family[..i].iter().all(|&t| laminar(sets[s], sets[t])))
        };
        // As the caller splits them, else the first family that takes each
        // set, largest first.
        let (first, second): (Vec<usize>, Vec<usize>) = order.iter().partition(|&&s| s < split);
        let mut families: [Vec<usize>; 2] = [first, second];
        if !(all_laminar(&families[0]) && all_laminar(&families[1])) {
            families = [Vec::new(), Vec::new()];
            for &s in &order {
                let fits = |family: &Vec<usize>| family.iter().all(|&t| laminar(sets[s], sets[t]));
                if fits(&families[0]) {
                    families[0].push(s);
                } else if fits(&families[1]) {
                    families[1].push(s);
                } else {
                    return None;
                }
            }
        }
        // Node numbers: family 0's sets, its root, family 1's sets, its root.
        let first = families[0].len();
        let roots = (first, first + 1 + families[1].len());
        let mut everyone = Members::default();
        sets.iter()
            .for_each(|s| s.iter().for_each(|m| everyone.insert(m)));
        let leaf = |family: usize, m: usize| -> usize {
            // Sets are in order of decreasing size: the last one holding m is the smallest.
            let base = if family == 0 { 0 } else { first + 1 };
            families[family]
                .iter()
                .rposition(|&s| sets[s].contains(m))
                .map_or(if family == 0 { roots.0 } else { roots.1 }, |i| base + i)
        };
        let edges = everyone
            .iter()
            .map(|m| {
                let (a, b) = (leaf(0, m), leaf(1, m));
                if ones.contains(m) {
                    (m, b, a)
                } else {
                    (m, a, b)
                }
            })
            .collect();
        Some(Self {
            nodes: roots.1 + 1,
            edges,
            roots,
        })
    }

    /// Members whose edge has no parallel twin: only their owners, knowing
    /// their own answer, take a cycle away from the others.
    fn lonely_edges(&self) -> Vec<usize> {
        let mut count = std::collections::HashMap::new();
        for &(_, a, b) in &self.edges {
            *count.entry((a, b)).or_insert(0usize) += 1;
        }
        self.edges
            .iter()
            .filter(|(_, a, b)| count[&(*a, *b)] == 1)
            .map(|&(m, _, _)| m)
            .collect()
    }

    /// The members whose value can move, with `without`'s edge left out.
    fn free(&self, without: Option<usize>) -> Members {
        let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); self.nodes];
        adjacency[self.roots.0].push(self.roots.1);
        adjacency[self.roots.1].push(self.roots.0);
        for &(m, a, b) in &self.edges {
            if Some(m) != without {
                adjacency[a].push(b);
            }
        }
        let component = components(&adjacency);
        self.edges
            .iter()
            .filter(|&&(m, a, b)| Some(m) != without && component[a] == component[b])
            .map(|&(m, _, _)| m)
            .collect()
    }
}

fn laminar(a: &Members, b: &Members) -> bool {
    let both = a.and(b).len();
    both == 0 || both == a.len() || both == b.len()
}

/// Strongly connected components (Tarjan, iterative): one number per node.
fn components(adjacency: &[Vec<usize>]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let n = adjacency.len();
    let (mut index, mut low, mut component) = (vec![NONE; n], vec![0; n], vec![NONE; n]);
    let (mut stack, mut on_stack) = (Vec::new(), vec![false; n]);
    let (mut next, mut found) = (0, 0);
    for root in 0..n {
        if index[root] != NONE {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = calls.last_mut() {
            if let Some(&w) = adjacency[v].get(*i) {
                *i += 1;
                if index[w] == NONE {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = found;
                    if w == v {
                        break;
                    }
                }
                found += 1;
            }
        }
    }
    component
}

/// Longest one solve may take before the audit gives up as [`Undecided`].
const SOLVE_LIMIT: Duration = Duration::from_secs(5);

/// The free members by a whole-number program, over atoms (members in the
/// same sets with the same value, which the sets cannot tell apart): `y_a`,
/// the number at 1 in atom `a`, is a whole number between 0 and the atom's
/// size, and every set's count is kept. Maximise the atoms' total departure
/// from the true values over the atoms not yet known to be free; every atom
/// that departs in an optimum is free; repeat until the optimum is 0, when
/// no remaining atom can depart in any assignment. (Linear relaxation is not
/// enough here: with panels crossing a table and its län, whole numbers can
/// pin what fractions leave free.)
fn lp_free(sets: &[&Members], ones: &Members) -> Result<Members, Undecided> {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let mut atoms: Vec<(Vec<bool>, bool, Vec<usize>)> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let mut everyone = Members::default();
    sets.iter()
        .for_each(|s| s.iter().for_each(|m| everyone.insert(m)));
    for m in everyone.iter() {
        let key = (
            sets.iter().map(|s| s.contains(m)).collect::<Vec<_>>(),
            ones.contains(m),
        );
        let a = *index.entry(key.clone()).or_insert_with(|| {
            atoms.push((key.0, key.1, Vec::new()));
            atoms.len() - 1
        });
        atoms[a].2.push(m);
    }
    let mut free = vec![false; atoms.len()];
    loop {
        let mut problem = Problem::new(OptimizationDirection::Maximize);
        problem.set_time_limit(SOLVE_LIMIT);
        let vars: Vec<_> = atoms
            .iter()
            .zip(&free)
            .map(|((_, one, members), &f)| {
                // Departure: up from 0, or down from the atom's size.
                let gain = match (f, one) {
                    (true, _) => 0.0,
                    (false, false) => 1.0,
                    (false, true) => -1.0,
                };
                let size = i32::try_from(members.len()).unwrap_or(i32::MAX);
                problem.add_integer_var(gain, (0, size))
            })
            .collect();
        for s in 0..sets.len() {
            let row: Vec<_> = vars
                .iter()
                .zip(&atoms)
                .filter(|(_, (inside, _, _))| inside[s])
                .map(|(&v, _)| (v, 1.0))
                .collect();
            let count = atoms
                .iter()
                .filter(|(inside, one, _)| inside[s] && *one)
                .map(|(_, _, members)| members.len())
                .sum::<usize>();
            if !row.is_empty() {
                problem.add_constraint(row.as_slice(), ComparisonOp::Eq, count as f64);
            }
        }
        let solution = problem
            .solve()
            .map_err(|_| Undecided)?
            .into_solution()
            .map_err(|_| Undecided)?;
        // Any assignment found is a real freedom; only an optimum proves
        // that what did not move cannot.
        let proven = solution.status() == microlp::SolutionStatus::Optimal;
        let mut more = false;
        for (a, &v) in vars.iter().enumerate() {
            let value = solution.var_value(v).round() as usize;
            let truth = if atoms[a].1 { atoms[a].2.len() } else { 0 };
            if !free[a] && value != truth {
                free[a] = true;
                more = true;
            }
        }
        if !more {
            if !proven {
                return Err(Undecided);
            }
            break;
        }
    }
    Ok(atoms
        .iter()
        .zip(&free)
        .filter(|(_, f)| **f)
        .flat_map(|((_, _, members), _)| members.iter().copied())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ms: &[usize]) -> Members {
        ms.iter().copied().collect()
    }

    /// Blekinge: five members, one at level 2; nation shown. Outsiders pin
    /// nothing, the one at level 2 pins the other four.
    #[test]
    fn a_count_of_one_lets_its_member_pin_the_others() {
        let nation = set(&(0..20).collect::<Vec<_>>());
        let county = set(&[0, 1, 2, 3, 4]);
        let ones = set(&[0, 10, 11]);
        assert_eq!(
            first_pin(&[&nation, &county], &[], 0, &ones, None),
            Ok(None)
        );
        let pin = first_pin(&[&nation, &county], &[], 0, &ones, Some(5))
            .ok()
            .flatten();
        assert_eq!(pin.map(|p| p.insider), Some(Some(0)));
    }

    /// Örebro: nation 37 at 1; panel 32; a county 6 of 6 with 5 outside the
    /// panel: the other non-panel members are pinned at 0 (LP way, three crossing families).
    #[test]
    fn bounds_pin_what_the_algebra_lets_through() {
        let all: Vec<usize> = (0..40).collect();
        let nation = set(&all);
        let panel = set(&(0..30).collect::<Vec<_>>());
        let county = set(&[29, 30, 31, 32, 33, 34]);
        // 5 of the 10 outside the panel are at 1, all in the county.
        let ones = set(&[0, 1, 29, 30, 31, 32, 33, 34]);
        let pin = first_pin(&[&nation, &panel, &county], &[], 0, &ones, None)
            .ok()
            .flatten();
        assert!(pin.is_some_and(|p| p.member >= 35), "{pin:?}");
        // Without the county, nothing is pinned.
        assert_eq!(first_pin(&[&nation, &panel], &[], 0, &ones, None), Ok(None));
    }

    /// Crossing cells that each show a 0 for another option leave a member
    /// only one (G0∩K2 all chose A: K2 shows no B, G0 no C).
    #[test]
    fn zeros_of_other_options_in_crossing_cells_pin_the_one_left() {
        let g0 = set(&[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        let k2 = set(&[6, 7, 8, 9, 10, 11, 12, 13, 14]);
        let (a, b, c) = (
            set(&[3, 4, 5, 6, 7, 8, 9, 10, 11]),
            set(&[0, 1, 2]),
            set(&[12, 13, 14]),
        );
        let sets = [&g0, &k2];
        assert_eq!(one_hot_pin(&sets, &[], &[&a, &b, &c]), Some(6));
        assert!(excludes(&k2, &[&a, &b, &c], 6) && excludes(&g0, &[&a, &b, &c], 6));
        // Each option alone pins nobody.
        for ones in [&a, &b, &c] {
            assert_eq!(first_pin(&sets, &[], 0, ones, None), Ok(None));
        }
    }

    #[test]
    fn the_network_and_the_program_agree() {
        // Two laminar families: groups and counties over 30 members.
        let nation = set(&(0..30).collect::<Vec<_>>());
        let groups = [
            set(&(0..10).collect::<Vec<_>>()),
            set(&(10..30).collect::<Vec<_>>()),
        ];
        let counties = [
            set(&(0..15).collect::<Vec<_>>()),
            set(&(15..30).collect::<Vec<_>>()),
        ];
        for seed in 0..200u64 {
            let ones: Members = (0..30)
                .filter(|m| {
                    (seed >> (m % 13)) & 1 == 1 || (m * 7 + seed as usize).is_multiple_of(5)
                })
                .collect();
            let sets = [&nation, &groups[0], &groups[1], &counties[0]];
            let net = Network::of(&sets, 0, &ones).map(|n| n.free(None));
            let lp = lp_free(&sets, &ones).ok();
            assert_eq!(net, lp, "seed {seed}");
        }
    }
}

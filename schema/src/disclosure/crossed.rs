//! An exact audit of a round's own table beside a second hierarchy that
//! cuts across it (län: the nation split into counties), by minimum cuts.
//!
//! It is the independent check of län plans in the tests: the release plan
//! itself uses the general audit ([`super::audit`]), which decides these
//! tables too (and panels beside them, which this one does not cover: a
//! panel splits each subgroup into those who answered in both rounds and the
//! others, which breaks the two-sided structure below). The property tests
//! plan län beside random group tables and require both audits to find
//! nothing, and require the two to agree on random releases.
//!
//! # Why a minimum cut decides it
//!
//! Every municipality counted lies in one subgroup `s` and one county `c`.
//! A combination of released cells has, on the municipalities of `(s, c)`,
//! the value `α_s + β_c`: `α_s` sums the coefficients of the nation, the
//! group and the subgroup where they are shown, `β_c` the county's where it
//! is shown. So `α_s` is free for a shown subgroup, shared by the hidden
//! subgroups of a shown group (the group's value), shared by the hidden
//! subgroups of hidden groups (the nation's value, 0 if the nation is
//! hidden too); `β_c` is free for a shown county and 0 for a hidden one.
//!
//! Label each subgroup class with `α` and each county with `−β`; a
//! municipality is counted by the combination exactly where its two labels
//! differ. Take any combination that counts someone and a label `t` on
//! either end of such a pair: relabelling the nodes labelled `t` as 1 and
//! all others as 0 (or the reverse when `t = 0`, so the nodes held at 0 stay
//! at 0) is again a combination, counting a subset of whom the first one
//! counted, and still someone. So the lightest combination that counts
//! anyone is a two-sided split of the graph whose nodes are the classes and
//! whose edges are the municipalities — a minimum cut of one of its
//! connected components (Stoer–Wagner on a few dozen nodes). The audit is
//! exact: no combination depends on fewer than `min_cell` municipalities
//! if and only if every component's minimum cut has at least `min_cell`
//! municipalities across it.

use std::collections::HashMap;

use super::Members;

/// A round's own table (nation, groups, subgroups) beside counties, with
/// what is shown, over the municipalities counted.
#[derive(Clone, Debug, Default)]
pub struct Crossed {
    pub nation_shown: bool,
    /// Per group: shown.
    pub groups: Vec<bool>,
    /// Per subgroup: its group and whether it is shown.
    pub subgroups: Vec<(usize, bool)>,
    /// Per county: shown.
    pub counties: Vec<bool>,
    /// The municipalities counted: (municipality, subgroup, county).
    pub members: Vec<(usize, usize, usize)>,
}

/// A node of the graph: a class of subgroups whose labels are tied, a
/// shown county, or the nodes held at 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Subgroup(usize),
    Group(usize),
    Nation,
    County(usize),
    Zero,
}

impl Crossed {
    fn subgroup_node(&self, s: usize) -> Node {
        let (g, shown) = self.subgroups[s];
        if shown {
            Node::Subgroup(s)
        } else if self.groups.get(g).copied().unwrap_or(false) {
            Node::Group(g)
        } else if self.nation_shown {
            Node::Nation
        } else {
            Node::Zero
        }
    }

    fn county_node(&self, c: usize) -> Node {
        if self.counties.get(c).copied().unwrap_or(false) {
            Node::County(c)
        } else {
            Node::Zero
        }
    }

    /// The municipalities that the lightest combination of the shown cells
    /// counts, when they are fewer than `min_cell`; `None` when every
    /// combination that counts anyone counts at least `min_cell`.
    pub fn audit(&self, min_cell: i64) -> Option<Members> {
        let limit = usize::try_from(min_cell).unwrap_or(0);
        let mut index: HashMap<Node, usize> = HashMap::new();
        // Per edge (a, b) with a < b: the municipalities it stands for.
        let mut edges: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for &(m, s, c) in &self.members {
            let (a, b) = (self.subgroup_node(s), self.county_node(c));
            if a == b {
                continue; // both held at 0: never counted
            }
            let n = index.len();
            let a = *index.entry(a).or_insert(n);
            let n = index.len();
            let b = *index.entry(b).or_insert(n);
            edges.entry((a.min(b), a.max(b))).or_default().push(m);
        }
        let n = index.len();
        let mut weight = vec![vec![0usize; n]; n];
        for (&(a, b), who) in &edges {
            weight[a][b] += who.len();
            weight[b][a] += who.len();
        }
        for component in components(&weight) {
            if component.len() < 2 {
                continue;
            }
            let (cut, side) = min_cut(&weight, &component);
            if cut < limit {
                return Some(
                    edges
                        .iter()
                        .filter(|((a, b), _)| side.contains(a) != side.contains(b))
                        .flat_map(|(_, who)| who.iter().copied())
                        .collect(),
                );
            }
        }
        None
    }
}

/// The connected components of a weighted graph, as node lists.
fn components(weight: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = weight.len();
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let mut component = Vec::new();
        while let Some(u) = stack.pop() {
            component.push(u);
            for v in 0..n {
                if weight[u][v] > 0 && !seen[v] {
                    seen[v] = true;
                    stack.push(v);
                }
            }
        }
        out.push(component);
    }
    out
}

/// Stoer–Wagner: the minimum cut of a connected set of nodes, with one side.
fn min_cut(weight: &[Vec<usize>], nodes: &[usize]) -> (usize, Vec<usize>) {
    // Super-nodes: the original nodes merged into each.
    let mut groups: Vec<Vec<usize>> = nodes.iter().map(|&u| vec![u]).collect();
    let k = nodes.len();
    let mut w: Vec<Vec<usize>> = (0..k)
        .map(|i| (0..k).map(|j| weight[nodes[i]][nodes[j]]).collect())
        .collect();
    let mut alive: Vec<usize> = (0..k).collect();
    let mut best = (usize::MAX, Vec::new());
    while alive.len() > 1 {
        // One phase: grow a set by the most tightly connected node.
        let mut added = vec![false; k];
        let mut tightness = vec![0usize; k];
        let mut previous = alive[0];
        let mut last = alive[0];
        for step in 0..alive.len() {
            let Some(&next) = alive
                .iter()
                .filter(|&&v| !added[v])
                .max_by_key(|&&v| tightness[v])
            else {
                break; // cannot happen: a phase adds each live node once
            };
            added[next] = true;
            if step == alive.len() - 1 {
                if tightness[next] < best.0 {
                    best = (tightness[next], groups[next].clone());
                }
                previous = last;
                last = next;
                break;
            }
            previous = last;
            last = next;
            for &v in &alive {
                if !added[v] {
                    tightness[v] += w[next][v];
                }
            }
        }
        // Merge the last node into the one before it.
        let (keep, gone) = (previous, last);
        let moved = std::mem::take(&mut groups[gone]);
        groups[keep].extend(moved);
        for &v in &alive {
            w[keep][v] += w[gone][v];
            w[v][keep] = w[keep][v];
        }
        w[keep][keep] = 0;
        alive.retain(|&v| v != gone);
    }
    best
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::disclosure::audit;

    /// Two groups of two subgroups each; `members` as (subgroup, county).
    fn layout(members: &[(usize, usize)], shown: [bool; 3 + 4], counties: Vec<bool>) -> Crossed {
        Crossed {
            nation_shown: shown[0],
            groups: vec![shown[1], shown[2]],
            subgroups: vec![(0, shown[3]), (0, shown[4]), (1, shown[5]), (1, shown[6])],
            counties,
            members: members
                .iter()
                .enumerate()
                .map(|(m, &(s, c))| (m, s, c))
                .collect(),
        }
    }

    /// The released cells as sets, for the general audit.
    fn sets(x: &Crossed) -> Vec<Members> {
        let all = |f: &dyn Fn(usize, usize) -> bool| -> Members {
            x.members
                .iter()
                .filter(|&&(_, s, c)| f(s, c))
                .map(|&(m, _, _)| m)
                .collect()
        };
        let mut out = Vec::new();
        if x.nation_shown {
            out.push(all(&|_, _| true));
        }
        for (g, shown) in x.groups.iter().enumerate() {
            if *shown {
                out.push(all(&|s, _| x.subgroups[s].0 == g));
            }
        }
        for (t, (_, shown)) in x.subgroups.iter().enumerate() {
            if *shown {
                out.push(all(&|s, _| s == t));
            }
        }
        for (k, shown) in x.counties.iter().enumerate() {
            if *shown {
                out.push(all(&|_, c| c == k));
            }
        }
        out
    }

    #[test]
    fn gotland_alone_and_the_nation_minus_the_rest_are_found() {
        // County 2 holds one municipality (of subgroup 1, whose others are
        // in county 1): shown, it is a cell of one.
        let members: Vec<(usize, usize)> =
            (0..12).map(|i| (i % 4, i % 2)).chain([(1, 2)]).collect();
        let shown = [true; 7];
        let found = layout(&members, shown, vec![true, true, true]).audit(3);
        assert_eq!(found.map(|m| m.len()), Some(1));
        // Hidden, the nation minus the other counties gives it away all the same.
        let found = layout(&members, shown, vec![true, true, false]).audit(3);
        assert_eq!(found.map(|m| m.iter().collect::<Vec<_>>()), Some(vec![12]));
        // With county 1 hidden beside it, subgroup 1 minus the rest of county
        // 1 is 4 and only both counties together are told apart: 7.
        let found = layout(&members, shown, vec![true, false, false]).audit(3);
        assert_eq!(found, None);
        // A subgroup that meets a hidden county in one municipality is not
        // enough to hide it: subgroups 0 and 2 minus county 0 are that one.
        let mut other = members.clone();
        other[12] = (0, 2);
        let found = layout(&other, shown, vec![true, false, false]).audit(3);
        assert_eq!(found.map(|m| m.iter().collect::<Vec<_>>()), Some(vec![12]));
    }

    #[test]
    fn a_subgroup_meeting_a_county_in_few_municipalities_is_found() {
        // Subgroup 0 lies in county 0 but for two municipalities in county 1;
        // county 1 is otherwise subgroup 3. Subgroup 0 minus county 0's part
        // of it is not released, but county 1 minus subgroup 3 is.
        let mut members: Vec<(usize, usize)> = Vec::new();
        members.extend(std::iter::repeat_n((0, 0), 6));
        members.extend(std::iter::repeat_n((0, 1), 2));
        members.extend(std::iter::repeat_n((1, 0), 6));
        members.extend(std::iter::repeat_n((2, 0), 6));
        members.extend(std::iter::repeat_n((3, 1), 6));
        let x = layout(&members, [true; 7], vec![true, true]);
        let found = x.audit(5).expect("county 1 minus subgroup 3");
        assert_eq!(found.len(), 2);
        assert!(
            audit(5, &sets(&x).iter().collect::<Vec<_>>())
                .unwrap()
                .is_some()
        );
    }

    /// Plans a group table and then its län beside it, as a round's plan is
    /// made, and returns the layout with what was shown.
    fn planned_layout(members: &[(usize, usize)], counties: usize, min_cell: i64) -> Crossed {
        use crate::disclosure::{Cell, Released, Table, plan_beside, plan_round};
        let all = |f: &dyn Fn(usize, usize) -> bool| -> Members {
            members
                .iter()
                .enumerate()
                .filter(|(_, (s, c))| f(*s, *c))
                .map(|(m, _)| m)
                .collect()
        };
        let cell = |code: &str, parent: Option<&str>, members: Members| Cell {
            code: code.into(),
            parent: parent.map(Into::into),
            members,
        };
        let groups = Table {
            families: vec![0],
            cells: vec![
                cell("SE", None, all(&|_, _| true)),
                cell("A", Some("SE"), all(&|s, _| s < 2)),
                cell("B", Some("SE"), all(&|s, _| s >= 2)),
                cell("A1", Some("A"), all(&|s, _| s == 0)),
                cell("A2", Some("A"), all(&|s, _| s == 1)),
                cell("B3", Some("B"), all(&|s, _| s == 2)),
                cell("B4", Some("B"), all(&|s, _| s == 3)),
            ],
        };
        let decided = plan_round(min_cell, &groups);
        let released: Vec<Released> = groups
            .cells
            .iter()
            .zip(&decided)
            .filter(|(_, d)| d.is_none())
            .map(|(c, _)| Released {
                family: 0,
                members: c.members.clone(),
                exempts: true,
            })
            .collect();
        let lan = Table {
            families: vec![0],
            cells: std::iter::once(cell("SE", None, all(&|_, _| true)))
                .chain(
                    (0..counties)
                        .map(|k| cell(&format!("{k:02}"), Some("SE"), all(&|_, c| c == k))),
                )
                .collect(),
        };
        let lan_decided = plan_beside(min_cell, &released, &lan);
        let shown: Vec<bool> = decided.iter().map(Option::is_none).collect();
        // The län table's own nation is the group table's, shown or not.
        layout(
            members,
            [
                shown[0], shown[1], shown[2], shown[3], shown[4], shown[5], shown[6],
            ],
            lan_decided[1..].iter().map(Option::is_none).collect(),
        )
    }

    #[test]
    fn lan_planned_beside_the_groups_of_all_290_municipalities_disclose_nothing() {
        // The real län, two groups of two subgroups by code, and a pseudo-random
        // four in five responding.
        let text = include_str!("../../../migration/data/municipalities.csv");
        let mut codes: Vec<String> = Vec::new();
        let mut members = Vec::new();
        let mut seed: u64 = 2023;
        for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if (seed >> 33).is_multiple_of(5) {
                continue;
            }
            let county = match codes.iter().position(|c| c == f[2]) {
                Some(i) => i,
                None => {
                    codes.push(f[2].to_owned());
                    codes.len() - 1
                }
            };
            let subgroup = (f[0].parse::<usize>().unwrap_or(0) / 7) % 4;
            members.push((subgroup, county));
        }
        assert_eq!(codes.len(), 21);
        let x = planned_layout(&members, 21, 5);
        assert_eq!(x.audit(5), None);
        assert_eq!(audit(5, &sets(&x).iter().collect::<Vec<_>>()), Ok(None));
        let shown = x.counties.iter().filter(|s| **s).count();
        assert!(shown >= 15, "{shown} of 21 län shown");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Län planned beside a group table disclose nothing, by either audit.
        #[test]
        fn planned_lan_disclose_nothing(
            members in prop::collection::vec((0usize..4, 0usize..5), 4..60),
            min_cell in 2i64..6,
        ) {
            let x = planned_layout(&members, 5, min_cell);
            prop_assert_eq!(x.audit(min_cell), None, "{:?}", x);
            prop_assert_eq!(audit(min_cell, &sets(&x).iter().collect::<Vec<_>>()), Ok(None));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The two audits agree on whether anything is disclosed.
        #[test]
        fn it_agrees_with_the_general_audit(
            members in prop::collection::vec((0usize..4, 0usize..3), 4..40),
            shown in prop::array::uniform7(any::<bool>()),
            counties in prop::collection::vec(any::<bool>(), 3),
            min_cell in 2i64..5,
        ) {
            let x = layout(&members, shown, counties);
            let released = sets(&x);
            let general = audit(min_cell, &released.iter().collect::<Vec<_>>());
            prop_assert!(general.is_ok(), "the general audit decides");
            let found = x.audit(min_cell);
            prop_assert_eq!(found.is_some(), general.is_ok_and(|g| g.is_some()), "{:?}", x);
            if let Some(m) = found {
                prop_assert!(m.len() < min_cell as usize);
            }
        }
    }
}

//! The planner against the contract's examples, the attacks it was built
//! for, and an independent check on random populations: for every family,
//! no small set of municipalities has its indicator vector in the span of
//! the shown cells (found by floating-point elimination over the atoms, not
//! by the module's own algebra).

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::*;

const SUBGROUPS: [&str; 9] = ["A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9"];

/// A hierarchy (nation, groups, subgroups) over given members per subgroup.
fn table(families: &[usize], subgroups: &[(&str, Members)]) -> Table {
    let mut cells = vec![Cell {
        code: "SE".into(),
        parent: None,
        members: subgroups.iter().flat_map(|(_, m)| m.iter()).collect(),
    }];
    let mut groups: Vec<&str> = subgroups.iter().map(|(s, _)| &s[..1]).collect();
    groups.dedup();
    for g in groups {
        cells.push(Cell {
            code: g.into(),
            parent: Some("SE".into()),
            members: subgroups
                .iter()
                .filter(|(s, _)| s.starts_with(g))
                .flat_map(|(_, m)| m.iter())
                .collect(),
        });
    }
    for (s, m) in subgroups {
        cells.push(Cell {
            code: (*s).into(),
            parent: Some(s[..1].into()),
            members: m.clone(),
        });
    }
    Table {
        families: families.to_vec(),
        cells,
    }
}

/// The SKR 2023 hierarchy with the given respondents per subgroup A1..C9.
fn skr2023(respondents: [usize; 9]) -> Table {
    let mut next = 0;
    let subgroups: Vec<(&str, Members)> = SUBGROUPS
        .iter()
        .zip(respondents)
        .map(|(s, n)| {
            let m = (next..next + n).collect();
            next += n;
            (*s, m)
        })
        .collect();
    table(&[0], &subgroups)
}

fn hidden_codes(t: &Table, decisions: &[Option<Reason>]) -> BTreeSet<String> {
    t.cells
        .iter()
        .zip(decisions)
        .filter(|(_, d)| d.is_some())
        .map(|(c, _)| c.code.clone())
        .collect()
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|c| (*c).to_owned()).collect()
}

fn reason_of(t: &Table, decisions: &[Option<Reason>], code: &str) -> Option<Reason> {
    let i = t.cells.iter().position(|c| c.code == code).unwrap();
    decisions[i]
}

#[test]
fn everyone_responding_hides_a1_and_a2_and_shows_a() {
    let t = skr2023([3, 43, 23, 63, 24, 27, 51, 35, 21]);
    let d = plan_round(5, &t);
    assert_eq!(hidden_codes(&t, &d), set(&["A1", "A2"]));
    assert_eq!(reason_of(&t, &d, "A1"), Some(Reason::SmallCell));
    assert_eq!(reason_of(&t, &d, "A2"), Some(Reason::Complementary));
}

#[test]
fn nothing_is_hidden_when_every_cell_is_large_enough() {
    let t = skr2023([3, 43, 23, 63, 24, 27, 51, 35, 21]);
    assert_eq!(hidden_codes(&t, &plan_round(3, &t)), set(&[]));
}

#[test]
fn two_small_subgroups_that_together_are_large_enough_need_no_complement() {
    let t = skr2023([5, 20, 10, 12, 9, 8, 14, 4, 2]);
    assert_eq!(hidden_codes(&t, &plan_round(5, &t)), set(&["C8", "C9"]));
}

#[test]
fn two_small_subgroups_that_together_are_still_small_take_a_third() {
    // C8 + C9 = 3: C minus the shown C6 and C7 would be about 3 municipalities.
    let t = skr2023([5, 20, 10, 12, 9, 8, 14, 2, 1]);
    let d = plan_round(5, &t);
    assert_eq!(hidden_codes(&t, &d), set(&["C6", "C8", "C9"]));
    assert_eq!(reason_of(&t, &d, "C6"), Some(Reason::Differencing));
}

#[test]
fn one_small_subgroup_hides_its_smallest_sibling_ties_by_code() {
    let t = skr2023([6, 20, 7, 7, 2, 8, 14, 9, 6]);
    assert_eq!(hidden_codes(&t, &plan_round(5, &t)), set(&["B5", "B3"]));
}

#[test]
fn two_small_subgroups_in_different_groups_each_take_a_sibling() {
    let t = skr2023([2, 20, 9, 12, 4, 8, 14, 9, 6]);
    assert_eq!(
        hidden_codes(&t, &plan_round(5, &t)),
        set(&["A1", "A2", "B5", "B3"])
    );
}

#[test]
fn a_small_group_hides_another_group_and_a_part_of_each() {
    let t = skr2023([1, 3, 6, 12, 9, 8, 14, 9, 6]);
    assert_eq!(
        hidden_codes(&t, &plan_round(5, &t)),
        set(&["A", "A1", "A2", "B", "B3", "B5"])
    );
}

#[test]
fn too_few_respondents_hide_everything() {
    let t = skr2023([0, 1, 0, 1, 0, 1, 0, 1, 0]);
    assert_eq!(hidden_codes(&t, &plan_round(5, &t)).len(), 13);
}

/// Members of `t`'s shown cells.
fn shown<'a>(t: &'a Table, d: &[Option<Reason>]) -> Vec<&'a Members> {
    t.cells
        .iter()
        .zip(d)
        .filter(|(_, d)| d.is_none())
        .map(|(c, _)| &c.members)
        .collect()
}

fn released(family: usize, t: &Table, d: &[Option<Reason>]) -> Vec<Released> {
    shown(t, d)
        .into_iter()
        .map(|m| Released {
            family,
            members: m.clone(),
            exempts: true,
        })
        .collect()
}

#[test]
fn a_panel_is_not_shown_beside_a_whole_that_differs_by_three() {
    // C7: 41 respondents this round, 38 of them also in the baseline (the
    // demo's C7); everything else large.
    let round = skr2023([3, 43, 23, 63, 24, 27, 41, 35, 21]);
    let d = plan_round(5, &round);
    assert!(!hidden_codes(&round, &d).contains("C7"));
    let c7 = &round.cells.iter().find(|c| c.code == "C7").unwrap().members;
    let newcomers: Members = c7.iter().take(3).collect();
    let panel_subgroups: Vec<(&str, Members)> = SUBGROUPS
        .iter()
        .map(|s| {
            let all = &round.cells.iter().find(|c| c.code == *s).unwrap().members;
            (*s, all.iter().filter(|m| !newcomers.contains(*m)).collect())
        })
        .collect();
    let panel = table(&[0, 1], &panel_subgroups);
    let decisions = plan_panels(5, &released(0, &round, &d), std::slice::from_ref(&panel));
    let p = &decisions[0];
    assert_eq!(reason_of(&panel, p, "C7"), Some(Reason::Differencing));
    assert!(
        reason_of(&panel, p, "C").is_some(),
        "C's panel minus C's whole is the same 3"
    );
    assert_eq!(reason_of(&panel, p, "B"), None);
    // Everything this round now shows, audited together.
    let mut all = shown(&round, &d);
    all.extend(shown(&panel, p));
    assert_eq!(audit(5, &all), Ok(None));
}

#[test]
fn a_newcomer_alone_is_never_isolated() {
    // B4: five panel members and one newcomer.
    let round = skr2023([5, 6, 7, 6, 8, 9, 10, 11, 12]);
    let d = plan_round(5, &round);
    let b4 = &round.cells.iter().find(|c| c.code == "B4").unwrap().members;
    let newcomer = b4.iter().next().unwrap();
    let panel_subgroups: Vec<(&str, Members)> = SUBGROUPS
        .iter()
        .map(|s| {
            let all = &round.cells.iter().find(|c| c.code == *s).unwrap().members;
            (*s, all.iter().filter(|m| *m != newcomer).collect())
        })
        .collect();
    let panel = table(&[0, 1], &panel_subgroups);
    let p = plan_panels(5, &released(0, &round, &d), std::slice::from_ref(&panel));
    let mut all = shown(&round, &d);
    all.extend(shown(&panel, &p[0]));
    assert_eq!(audit(5, &all), Ok(None));
    // The nation, groups A and C and B's other subgroups stay shown.
    for code in ["A", "C", "B3", "B5", "C9"] {
        assert_eq!(reason_of(&panel, &p[0], code), None, "{code}");
    }
}

#[test]
fn one_panel_under_two_classifications_hides_the_difference() {
    // 60 municipalities, 5 groups of 12 by one classification; the other
    // moves two from B3 to B4.
    let members = |range: std::ops::Range<usize>| -> Members { range.collect() };
    let first = table(
        &[0, 1],
        &[
            ("A1", members(0..12)),
            ("B3", members(12..24)),
            ("B4", members(24..36)),
            ("C6", members(36..48)),
            ("C7", members(48..60)),
        ],
    );
    let second = table(
        &[0, 1],
        &[
            ("A1", members(0..12)),
            ("B3", members(12..22)),
            ("B4", members(22..36)),
            ("C6", members(36..48)),
            ("C7", members(48..60)),
        ],
    );
    let decisions = plan_panels(5, &[], &[first.clone(), second.clone()]);
    let b3 = (
        reason_of(&first, &decisions[0], "B3"),
        reason_of(&second, &decisions[1], "B3"),
    );
    assert_eq!(b3.0, None, "the first classification is shown in full");
    assert_eq!(b3.1, Some(Reason::Differencing));
    let mut all = shown(&first, &decisions[0]);
    all.extend(shown(&second, &decisions[1]));
    assert_eq!(audit(5, &all), Ok(None));
    // Both tables in full: the two that moved are found.
    let everything: Vec<&Members> = first
        .cells
        .iter()
        .chain(&second.cells)
        .map(|c| &c.members)
        .collect();
    assert_eq!(audit(5, &everything), Ok(Some((22..24).collect())));
}

#[test]
fn audit_finds_the_newcomers() {
    let whole: Members = (0..41).collect();
    let panel: Members = (3..41).collect();
    assert_eq!(audit(5, &[&whole, &panel]), Ok(Some((0..3).collect())));
    assert_eq!(audit(3, &[&whole, &panel]), Ok(None));
}

/// The independent check: is the indicator of some set of 1..k-1
/// municipalities a linear combination of `sets`? Elimination in floating
/// point over the atoms of `sets`; candidate sets are unions of atoms.
fn isolates_small_set(sets: &[&Members], k: usize) -> Option<Vec<usize>> {
    let everyone: BTreeSet<usize> = sets.iter().flat_map(|s| s.iter()).collect();
    let mut atoms: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
    for m in everyone {
        let signature: Vec<bool> = sets.iter().map(|s| s.contains(m)).collect();
        match atoms.iter_mut().find(|(s, _)| *s == signature) {
            Some((_, list)) => list.push(m),
            None => atoms.push((signature, vec![m])),
        }
    }
    // Reduced basis of the row space.
    let n = atoms.len();
    let mut basis: Vec<(usize, Vec<f64>)> = Vec::new();
    let reduce = |v: &mut Vec<f64>, basis: &[(usize, Vec<f64>)]| {
        for (p, b) in basis {
            let f = v[*p];
            if f.abs() > 1e-9 {
                v.iter_mut().zip(b).for_each(|(x, y)| *x -= f * y);
            }
        }
    };
    for s in 0..sets.len() {
        let mut v: Vec<f64> = atoms
            .iter()
            .map(|(sig, _)| f64::from(u8::from(sig[s])))
            .collect();
        reduce(&mut v, &basis);
        if let Some(p) = (0..n).find(|&i| v[i].abs() > 1e-9) {
            let f = v[p];
            v.iter_mut().for_each(|x| *x /= f);
            for (_, b) in basis.iter_mut() {
                let g = b[p];
                if g.abs() > 1e-9 {
                    b.iter_mut().zip(&v).for_each(|(x, y)| *x -= g * y);
                }
            }
            basis.push((p, v));
        }
    }
    let small: Vec<usize> = (0..n).filter(|&a| atoms[a].1.len() < k).collect();
    // Every union of small atoms weighing 1..k-1 (at most k-1 atoms).
    let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(0, vec![], 0)];
    while let Some((from, chosen, weight)) = stack.pop() {
        if !chosen.is_empty() {
            let mut v = vec![0.0; n];
            chosen.iter().for_each(|&a| v[a] = 1.0);
            reduce(&mut v, &basis);
            if v.iter().all(|x| x.abs() < 1e-6) {
                return Some(chosen.iter().flat_map(|&a| atoms[a].1.clone()).collect());
            }
        }
        for i in from..small.len() {
            let w = weight + atoms[small[i]].1.len();
            if w < k {
                let mut next = chosen.clone();
                next.push(small[i]);
                stack.push((i + 1, next, w));
            }
        }
    }
    None
}

/// Three rounds over 30 municipalities in two classifications (the second
/// moves the municipalities in `moved` to other subgroups), each with its
/// respondents; the third round uses the first or second classification.
#[derive(Clone, Debug)]
struct Rounds {
    k: usize,
    moved: Vec<(usize, usize)>,
    respondents: [Vec<bool>; 3],
    third_like_first: bool,
}

fn rounds() -> impl Strategy<Value = Rounds> {
    let who = || proptest::collection::vec(proptest::bool::weighted(0.6), 30);
    (
        3usize..=5,
        proptest::collection::vec((0usize..30, 0usize..4), 0..6),
        [who(), who(), who()],
        any::<bool>(),
    )
        .prop_map(|(k, moved, respondents, third_like_first)| Rounds {
            k,
            moved,
            respondents,
            third_like_first,
        })
}

/// Plans the rounds as the service does (each round's own table, then the
/// pairs in order) and returns the released cells, with how many panel
/// cells are shown.
fn release_all(r: &Rounds) -> (Vec<Released>, usize) {
    let codes = ["A1", "A2", "B3", "B4"];
    let first: Vec<usize> = (0..30).map(|m| m * 4 / 30).collect();
    let mut second = first.clone();
    for &(m, s) in &r.moved {
        second[m] = s;
    }
    let classes = [
        &first,
        &second,
        if r.third_like_first { &first } else { &second },
    ];
    let who: Vec<Members> = r
        .respondents
        .iter()
        .map(|w| (0..30).filter(|&m| w[m]).collect())
        .collect();
    let hierarchy = |families: &[usize], who: &Members, class: &Vec<usize>| {
        let subgroups: Vec<(&str, Members)> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, who.iter().filter(|&m| class[m] == i).collect()))
            .collect();
        table(families, &subgroups)
    };
    let k = r.k as i64;
    let mut all: Vec<Released> = Vec::new();
    for f in 0..3 {
        let t = hierarchy(&[f], &who[f], classes[f]);
        all.extend(released(f, &t, &plan_round(k, &t)));
    }
    let mut panels_shown = 0;
    for (a, b) in [(1, 0), (2, 1), (2, 0)] {
        let panel = who[a].and(&who[b]);
        let mut tables = vec![hierarchy(&[a, b], &panel, classes[a])];
        if classes[a] != classes[b] {
            tables.push(hierarchy(&[a, b], &panel, classes[b]));
        }
        let before: Vec<Released> = all
            .iter()
            .filter(|x| x.family == a || x.family == b)
            .cloned()
            .collect();
        let decisions = plan_panels(k, &before, &tables);
        for (t, d) in tables.iter().zip(&decisions) {
            panels_shown += d.iter().filter(|d| d.is_none()).count();
            for f in [a, b] {
                all.extend(released(f, t, d));
            }
        }
    }
    (all, panels_shown)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_rounds_and_panels_isolate_nobody(r in rounds()) {
        let (all, _) = release_all(&r);
        for f in 0..3 {
            let sets: Vec<&Members> = all
                .iter()
                .filter(|x| x.family == f)
                .map(|x| &x.members)
                .collect();
            prop_assert_eq!(isolates_small_set(&sets, r.k), None, "family {}", f);
            prop_assert_eq!(audit(r.k as i64, &sets), Ok(None));
        }
    }
}

#[test]
fn random_rounds_show_panels_too() {
    // The property above is not met by hiding every panel.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut shown = 0;
    for _ in 0..100 {
        let r = rounds().new_tree(&mut runner).unwrap().current();
        shown += release_all(&r).1;
    }
    assert!(shown > 100, "panel cells shown in 100 cases: {shown}");
}

#[test]
fn the_independent_check_does_find_a_leak() {
    // Guards the check above against passing everything.
    let whole: Members = (0..12).collect();
    let part: Members = (0..9).collect();
    assert_eq!(
        isolates_small_set(&[&whole, &part], 5),
        Some(vec![9, 10, 11])
    );
    assert_eq!(isolates_small_set(&[&whole], 5), None);
}

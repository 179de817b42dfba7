//! The planner against the contract's examples, the attacks it was built
//! for, and an independent check on random populations: for every family,
//! no small set of municipalities has its indicator vector in the span of
//! the shown cells (found by floating-point elimination over the atoms, not
//! by the module's own algebra).

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

/// xorshift64*, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
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

#[test]
fn random_rounds_and_panels_isolate_nobody() {
    let mut rng = Rng(0x00D1_5C10_5E00_0001);
    let mut panels_shown = 0;
    for case in 0..300 {
        let k = 3 + rng.below(3); // 3..=5
        let universe = 30;
        // Two classifications of the same 30 municipalities into 2 groups of
        // 2 subgroups; the second moves a few of them.
        let codes = ["A1", "A2", "B3", "B4"];
        let first: Vec<usize> = (0..universe).map(|m| m * 4 / universe).collect();
        let second: Vec<usize> = first
            .iter()
            .map(|&s| if rng.below(6) == 0 { rng.below(4) } else { s })
            .collect();
        let respond = |rng: &mut Rng| -> Members {
            let share = 3 + rng.below(6); // 30..80 %
            (0..universe).filter(|_| rng.below(10) < share).collect()
        };
        let rounds: Vec<(Members, &Vec<usize>)> = vec![
            (respond(&mut rng), &first),
            (respond(&mut rng), &second),
            (
                respond(&mut rng),
                if rng.below(2) == 0 { &first } else { &second },
            ),
        ];
        let hierarchy = |families: &[usize], who: &Members, class: &Vec<usize>| {
            let subgroups: Vec<(&str, Members)> = codes
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, who.iter().filter(|&m| class[m] == i).collect()))
                .collect();
            table(families, &subgroups)
        };
        // Each round's own table, then the pairs in order, as the service does.
        let mut all_released: Vec<Released> = Vec::new();
        for (f, (who, class)) in rounds.iter().enumerate() {
            let t = hierarchy(&[f], who, class);
            let d = plan_round(k as i64, &t);
            all_released.extend(released(f, &t, &d));
        }
        for (a, b) in [(1, 0), (2, 1), (2, 0)] {
            let panel = rounds[a].0.and(&rounds[b].0);
            let mut tables = vec![hierarchy(&[a, b], &panel, rounds[a].1)];
            if !std::ptr::eq(rounds[a].1, rounds[b].1) {
                tables.push(hierarchy(&[a, b], &panel, rounds[b].1));
            }
            let before: Vec<Released> = all_released
                .iter()
                .filter(|r| r.family == a || r.family == b)
                .cloned()
                .collect();
            let decisions = plan_panels(k as i64, &before, &tables);
            for (t, d) in tables.iter().zip(&decisions) {
                panels_shown += d.iter().filter(|d| d.is_none()).count();
                for f in [a, b] {
                    all_released.extend(released(f, t, d));
                }
            }
        }
        for f in 0..3 {
            let sets: Vec<&Members> = all_released
                .iter()
                .filter(|r| r.family == f)
                .map(|r| &r.members)
                .collect();
            assert_eq!(
                isolates_small_set(&sets, k),
                None,
                "case {case}, k {k}, family {f}"
            );
            assert_eq!(audit(k as i64, &sets), Ok(None), "case {case}");
        }
    }
    assert!(panels_shown > 300, "panels are shown too: {panels_shown}");
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

//! An attacker's auditor, written apart from the server's disclosure module.
//!
//! The attacker knows who responded in each round (SKR admins see it per
//! municipality) and every municipality's group under both classifications,
//! so every figure a client is shown is a known sum over a known set of
//! municipalities of one round's answers. [`Knowledge`] turns the GraphQL
//! responses into those sets; [`recover`] then solves the system of shown
//! counts exactly (rational Gauss–Jordan elimination) and reports any set of
//! 1 to `min_cell − 1` municipalities whose sum it determines — a single
//! municipality's level included.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// A figure a client was shown: the round whose answers it sums, and over whom.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shown {
    pub round: String,
    pub members: BTreeSet<String>,
    /// A panel's figure (municipalities that answered in two rounds).
    pub panel: bool,
}

/// What the attacker knows: groups under each classification and who
/// responded in each round.
#[derive(Default)]
pub struct Knowledge {
    /// classification -> municipality -> (group, subgroup)
    pub groups: HashMap<String, HashMap<String, (String, String)>>,
    /// round id -> (classification, respondents)
    pub rounds: HashMap<String, (String, BTreeSet<String>)>,
}

/// `code,…,group,subgroup_code,…` rows of a data file.
fn grouping(text: &str, group_column: usize) -> HashMap<String, (String, String)> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_owned(),
                (f[group_column].to_owned(), f[group_column + 1].to_owned()),
            )
        })
        .collect()
}

impl Knowledge {
    /// Both classifications, from the data files the server loads.
    pub fn new() -> Self {
        let mut groups = HashMap::new();
        groups.insert(
            "SKR2023".to_owned(),
            grouping(include_str!("../../migration/data/municipalities.csv"), 4),
        );
        groups.insert(
            "SKR2017".to_owned(),
            grouping(
                include_str!("../../migration/data/municipality-groups-2017.csv"),
                2,
            ),
        );
        // Län: a municipality's county code stands for both its levels.
        groups.insert(
            "COUNTY".to_owned(),
            grouping(include_str!("../../migration/data/municipalities.csv"), 2)
                .into_iter()
                .map(|(m, (county, _))| (m, (county.clone(), county)))
                .collect(),
        );
        Self {
            groups,
            rounds: HashMap::new(),
        }
    }

    pub fn round(&mut self, id: &str, classification: &str, respondents: BTreeSet<String>) {
        self.rounds
            .insert(id.to_owned(), (classification.to_owned(), respondents));
    }

    /// The members of a segment of a classification among `who`.
    fn segment(
        &self,
        classification: &str,
        code: &str,
        who: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let groups = &self.groups[classification];
        who.iter()
            .filter(|m| {
                groups
                    .get(*m)
                    .is_some_and(|(g, s)| code == "SE" || g == code || s == code)
            })
            .cloned()
            .collect()
    }

    /// The figures of one row of `maturityAggregates`, `answerDistribution`,
    /// `processShare` or `estimatedWeeklyHours` of `round`, if shown; checks
    /// the row's respondents against the set.
    pub fn base_row(&self, round: &str, row: &Value) -> Vec<Shown> {
        let (class, who) = &self.rounds[round];
        let code = row["segment"]["code"].as_str().unwrap();
        let class = county_or(code, class);
        let members = self.segment(class, code, who);
        assert_eq!(
            row["respondents"].as_u64(),
            Some(members.len() as u64),
            "{round} {code}: the auditor's respondents differ from the server's"
        );
        if row["suppressed"] == true {
            return Vec::new();
        }
        vec![Shown {
            round: round.to_owned(),
            members,
            panel: false,
        }]
    }

    /// The figures of one `maturityTrend` row of `round` against `baseline`.
    pub fn trend_row(&self, round: &str, baseline: &str, panel: bool, row: &Value) -> Vec<Shown> {
        let (class, who) = &self.rounds[round];
        let (baseline_class, baseline_who) = &self.rounds[baseline];
        let code = row["segment"]["code"].as_str().unwrap();
        let cells = if panel {
            let both: BTreeSet<String> = who.intersection(baseline_who).cloned().collect();
            let members = self.segment(class, code, &both);
            assert_eq!(
                row["panelSize"].as_u64(),
                Some(members.len() as u64),
                "{code}: the auditor's panel differs from the server's"
            );
            vec![(round, members.clone()), (baseline, members)]
        } else {
            vec![
                (round, self.segment(county_or(code, class), code, who)),
                (
                    baseline,
                    self.segment(county_or(code, baseline_class), code, baseline_who),
                ),
            ]
        };
        if row["suppressed"] == true {
            return Vec::new();
        }
        cells
            .into_iter()
            .map(|(r, members)| Shown {
                round: r.to_owned(),
                members,
                panel,
            })
            .collect()
    }
}

/// The classification a segment code belongs to: a two-digit code is a län.
fn county_or<'a>(code: &str, class: &'a str) -> &'a str {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_digit()) {
        "COUNTY"
    } else {
        class
    }
}

/// An exact rational number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Fraction {
    num: i128,
    den: i128,
}

impl Fraction {
    const ZERO: Self = Self { num: 0, den: 1 };

    fn new(num: i128, den: i128) -> Self {
        let (mut a, mut b) = (num.abs(), den.abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        let g = a.max(1) * den.signum();
        Self {
            num: num / g,
            den: den / g,
        }
    }

    fn minus_product(self, x: Self, y: Self) -> Self {
        Self::new(
            self.num * x.den * y.den - x.num * y.num * self.den,
            self.den * x.den * y.den,
        )
    }

    fn over(self, d: Self) -> Self {
        Self::new(self.num * d.den, self.den * d.num)
    }
}

/// A set of 1..`min_cell`−1 municipalities, with its round, whose sum the
/// shown figures determine; `None` when there is none.
pub fn recover(shown: &[Shown], min_cell: usize) -> Option<(String, BTreeSet<String>)> {
    let mut by_round: BTreeMap<&str, BTreeSet<&BTreeSet<String>>> = BTreeMap::new();
    for s in shown.iter().filter(|s| !s.members.is_empty()) {
        by_round.entry(&s.round).or_default().insert(&s.members);
    }
    for (round, sets) in by_round {
        let sets: Vec<&BTreeSet<String>> = sets.into_iter().collect();
        if let Some(found) = solve(&sets, min_cell) {
            return Some((round.to_owned(), found));
        }
    }
    None
}

fn solve(sets: &[&BTreeSet<String>], min_cell: usize) -> Option<BTreeSet<String>> {
    // Municipalities every set treats alike are one unknown (their sum).
    let mut classes: BTreeMap<Vec<bool>, BTreeSet<String>> = BTreeMap::new();
    for m in sets.iter().flat_map(|s| s.iter()) {
        let key: Vec<bool> = sets.iter().map(|s| s.contains(m)).collect();
        classes.entry(key).or_default().insert(m.clone());
    }
    let classes: Vec<(Vec<bool>, BTreeSet<String>)> = classes.into_iter().collect();
    // Gauss–Jordan: a basis of the row space with a 1 at each pivot, 0 in
    // every other row's pivot column.
    let mut basis: Vec<(usize, Vec<Fraction>)> = Vec::new();
    for s in 0..sets.len() {
        let mut row: Vec<Fraction> = classes
            .iter()
            .map(|(key, _)| Fraction::new(i128::from(key[s]), 1))
            .collect();
        reduce(&mut row, &basis);
        let Some(pivot) = row.iter().position(|x| *x != Fraction::ZERO) else {
            continue;
        };
        let p = row[pivot];
        row.iter_mut().for_each(|x| *x = x.over(p));
        for (_, other) in basis.iter_mut() {
            let f = other[pivot];
            if f != Fraction::ZERO {
                for (x, y) in other.iter_mut().zip(&row) {
                    *x = x.minus_product(f, *y);
                }
            }
        }
        basis.push((pivot, row));
    }
    // Every union of classes of 1..min_cell-1 municipalities whose
    // indicator reduces to zero. Reduction is linear, so split the union in
    // two halves of at most `half` classes each and look for a half whose
    // reduced sum is minus the other's (meet in the middle).
    let small: Vec<usize> = (0..classes.len())
        .filter(|&c| classes[c].1.len() < min_cell)
        .collect();
    let reduced: HashMap<usize, Vec<Fraction>> = small
        .iter()
        .map(|&c| {
            let mut v = vec![Fraction::ZERO; classes.len()];
            v[c] = Fraction::new(1, 1);
            reduce(&mut v, &basis);
            (c, v)
        })
        .collect();
    let half = min_cell / 2;
    let mut halves: Vec<(Vec<usize>, usize, Vec<Fraction>)> = Vec::new();
    let mut pending: Vec<(Vec<usize>, usize, usize, Vec<Fraction>)> =
        vec![(Vec::new(), 0, 0, vec![Fraction::ZERO; classes.len()])];
    while let Some((chosen, next, size, sum)) = pending.pop() {
        if chosen.len() < half {
            for (i, &c) in small.iter().enumerate().skip(next) {
                let bigger = size + classes[c].1.len();
                if bigger < min_cell {
                    let mut more = chosen.clone();
                    more.push(c);
                    let added: Vec<Fraction> = sum
                        .iter()
                        .zip(&reduced[&c])
                        .map(|(x, y)| x.minus_product(Fraction::new(-1, 1), *y))
                        .collect();
                    pending.push((more, i + 1, bigger, added));
                }
            }
        }
        halves.push((chosen, size, sum));
    }
    let mut by_sum: HashMap<Vec<Fraction>, Vec<usize>> = HashMap::new();
    for (i, (_, _, sum)) in halves.iter().enumerate() {
        by_sum.entry(sum.clone()).or_default().push(i);
    }
    for (chosen, size, sum) in &halves {
        let minus: Vec<Fraction> = sum
            .iter()
            .map(|x| Fraction::ZERO.minus_product(Fraction::new(1, 1), *x))
            .collect();
        for &j in by_sum.get(&minus).into_iter().flatten() {
            let (other, other_size, _) = &halves[j];
            if size + other_size < min_cell
                && chosen.len() + other.len() > 0
                && chosen.iter().all(|c| !other.contains(c))
            {
                return Some(
                    chosen
                        .iter()
                        .chain(other)
                        .flat_map(|&c| classes[c].1.iter().cloned())
                        .collect(),
                );
            }
        }
    }
    None
}

/// Subtracts from `v` its part in the basis's span.
fn reduce(v: &mut [Fraction], basis: &[(usize, Vec<Fraction>)]) {
    for (pivot, row) in basis {
        let f = v[*pivot];
        if f != Fraction::ZERO {
            for (x, y) in v.iter_mut().zip(row) {
                *x = x.minus_product(f, *y);
            }
        }
    }
}

#[test]
fn the_auditor_finds_what_a_subtraction_gives_away() {
    let set =
        |codes: &[&str]| -> BTreeSet<String> { codes.iter().map(|c| (*c).to_owned()).collect() };
    let shown = |members: BTreeSet<String>| Shown {
        round: "r".into(),
        members,
        panel: false,
    };
    let whole = set(&["a", "b", "c", "d", "e", "f", "g"]);
    let panel = set(&["a", "b", "c", "d", "e"]);
    let found = recover(&[shown(whole.clone()), shown(panel.clone())], 5);
    assert_eq!(found, Some(("r".into(), set(&["f", "g"]))));
    assert_eq!(recover(&[shown(whole.clone())], 5), None);
    // Through a chain: S3 - S4 = g, then S1 - S2 + g = a.
    let found = recover(
        &[
            shown(set(&["a", "b", "c", "d", "e", "f"])),
            shown(set(&["b", "c", "d", "e", "f", "g"])),
            shown(set(&["g", "h", "i", "j", "k", "l"])),
            shown(set(&["h", "i", "j", "k", "l"])),
        ],
        5,
    )
    .unwrap();
    assert!(
        found.1 == set(&["a"]) || found.1 == set(&["g"]),
        "{found:?}"
    );
    // A sum over five is not a disclosure at 5; over three it is.
    let five = set(&["h", "i", "j", "k", "l"]);
    let bigger: BTreeSet<String> = whole.union(&five).cloned().collect();
    assert_eq!(
        recover(&[shown(bigger.clone()), shown(whole.clone())], 5),
        None
    );
    assert!(recover(&[shown(bigger), shown(whole)], 6).is_some());
}

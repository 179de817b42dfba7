//! Small-cell protection: which segments of a round may be shown.
//!
//! The one place that decides suppression, for aggregates and distributions
//! alike. A segment (the nation, a group, a subgroup) is suppressed when
//!
//! 1. fewer than `min_cell` municipalities of it responded (primary);
//! 2. it is a part of a whole (a group of the nation, a subgroup of its group)
//!    in which exactly one other part is suppressed: then the part with the
//!    fewest respondents among the shown ones (ties: the lowest code) is
//!    suppressed too, so the hidden part cannot be had by subtraction;
//! 3. its whole is suppressed while all its parts are shown (the whole would
//!    be their sum): then its part with the fewest respondents is suppressed.
//!
//! Rules 2 and 3 repeat until nothing changes. The result is the same set
//! whichever grouping a query asks for, so asking for GROUP and SUBGROUP
//! separately reveals nothing one query hides.

use std::collections::BTreeSet;

/// A segment's respondents, and where it sits in the hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub code: String,
    /// The whole this cell is a part of: `None` for the nation, the nation's
    /// code for a group, the group's code for a subgroup.
    pub parent: Option<String>,
    pub respondents: i64,
}

/// The codes of the cells to suppress.
pub fn suppressed(cells: &[Cell], min_cell: i64) -> BTreeSet<String> {
    let mut hidden: BTreeSet<String> = cells
        .iter()
        .filter(|c| c.respondents < min_cell)
        .map(|c| c.code.clone())
        .collect();
    let parts = |whole: &str| -> Vec<&Cell> {
        cells
            .iter()
            .filter(|c| c.parent.as_deref() == Some(whole))
            .collect()
    };
    loop {
        let mut changed = false;
        for whole in cells {
            let parts = parts(&whole.code);
            if parts.len() < 2 {
                continue;
            }
            let hidden_parts = parts.iter().filter(|p| hidden.contains(&p.code)).count();
            let needs_another =
                hidden_parts == 1 || (hidden_parts == 0 && hidden.contains(&whole.code));
            if needs_another
                && let Some(next) =
                    parts
                        .iter()
                        .filter(|p| !hidden.contains(&p.code))
                        .min_by(|a, b| {
                            a.respondents
                                .cmp(&b.respondents)
                                .then_with(|| a.code.cmp(&b.code))
                        })
            {
                hidden.insert(next.code.clone());
                changed = true;
            }
        }
        if !changed {
            return hidden;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SKR 2023 hierarchy with respondents per subgroup (A1..C9).
    fn skr2023(respondents: [i64; 9]) -> Vec<Cell> {
        let subgroups = ["A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9"];
        let mut cells = vec![Cell {
            code: "SE".into(),
            parent: None,
            respondents: respondents.iter().sum(),
        }];
        for g in ["A", "B", "C"] {
            let n = subgroups
                .iter()
                .zip(respondents)
                .filter(|(s, _)| s.starts_with(g))
                .map(|(_, n)| n)
                .sum();
            cells.push(Cell {
                code: g.into(),
                parent: Some("SE".into()),
                respondents: n,
            });
        }
        for (s, n) in subgroups.iter().zip(respondents) {
            cells.push(Cell {
                code: (*s).into(),
                parent: Some(s[..1].into()),
                respondents: n,
            });
        }
        cells
    }

    fn set(codes: &[&str]) -> BTreeSet<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn everyone_responding_hides_a1_and_a2_and_shows_a() {
        let cells = skr2023([3, 43, 23, 63, 24, 27, 51, 35, 21]);
        assert_eq!(suppressed(&cells, 5), set(&["A1", "A2"]));
    }

    #[test]
    fn nothing_is_hidden_when_every_cell_is_large_enough() {
        let cells = skr2023([3, 43, 23, 63, 24, 27, 51, 35, 21]);
        assert_eq!(suppressed(&cells, 3), set(&[]));
    }

    #[test]
    fn two_small_subgroups_in_one_group_need_no_complement() {
        // C8 and C9 fall under the threshold; two hidden parts already protect each other.
        let cells = skr2023([5, 20, 10, 12, 9, 8, 14, 4, 2]);
        assert_eq!(suppressed(&cells, 5), set(&["C8", "C9"]));
    }

    #[test]
    fn one_small_subgroup_hides_its_smallest_sibling_ties_by_code() {
        // B5 is small; B3 and B4 tie on respondents, so the lower code B3 goes with it.
        let cells = skr2023([6, 20, 7, 7, 2, 8, 14, 9, 6]);
        assert_eq!(suppressed(&cells, 5), set(&["B5", "B3"]));
    }

    #[test]
    fn two_small_subgroups_in_different_groups_each_take_a_sibling() {
        let cells = skr2023([2, 20, 9, 12, 4, 8, 14, 9, 6]);
        assert_eq!(suppressed(&cells, 5), set(&["A1", "A2", "B5", "B3"]));
    }

    #[test]
    fn a_small_group_hides_another_group_and_a_part_of_each() {
        // A has 4 respondents: A, A1, A2 are all small. B (fewest of B and C)
        // is hidden with it; then B3 (rule 3: else B = B3 + B4 + B5), and
        // with B3 hidden, its smallest sibling B5 (rule 2).
        let cells = skr2023([1, 3, 6, 12, 9, 8, 14, 9, 6]);
        assert_eq!(
            suppressed(&cells, 5),
            set(&["A", "A1", "A2", "B", "B3", "B5"])
        );
    }

    #[test]
    fn too_few_respondents_hide_everything() {
        let cells = skr2023([0, 1, 0, 1, 0, 1, 0, 1, 0]);
        let hidden = suppressed(&cells, 5);
        assert_eq!(hidden.len(), 13);
        assert!(hidden.contains("SE"));
    }

    #[test]
    fn no_hidden_cell_can_be_recovered_by_subtraction() {
        // For many patterns: every whole with a hidden part has at least two
        // hidden parts, and no hidden whole has only shown parts.
        let mut seed: u64 = 7;
        for _ in 0..500 {
            let mut r = [0i64; 9];
            for x in &mut r {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *x = ((seed >> 33) % 12) as i64;
            }
            let cells = skr2023(r);
            let hidden = suppressed(&cells, 5);
            for whole in &cells {
                let parts: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| c.parent.as_deref() == Some(&whole.code))
                    .collect();
                let hidden_parts = parts.iter().filter(|p| hidden.contains(&p.code)).count();
                assert_ne!(hidden_parts, 1, "{r:?}: {} has one hidden part", whole.code);
                if hidden.contains(&whole.code) && !parts.is_empty() {
                    assert!(
                        hidden_parts >= 2,
                        "{r:?}: hidden {} is the sum of shown parts",
                        whole.code
                    );
                }
            }
        }
    }
}

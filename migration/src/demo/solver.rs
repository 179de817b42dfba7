//! A small deterministic local search: per-group option counts of one
//! question that meet as many constraints as possible, the heaviest first.

use super::facts::Constraint;

/// The solved counts of one question: per group, per option.
#[derive(Clone, Debug)]
pub struct QuestionCounts {
    pub key: String,
    pub options: Vec<String>,
    pub counts: [Vec<i64>; 3],
}

impl QuestionCounts {
    pub fn answered(&self, g: usize) -> i64 {
        self.counts[g].iter().sum()
    }
}

/// A deterministic local search over per-group option counts.
pub(super) struct Search {
    pub(super) x: [Vec<i64>; 3],
    lo: [i64; 3],
    hi: [i64; 3],
    pub(super) constraints: Vec<Constraint>,
    pub(super) values: Vec<i64>,
    /// For each (group, option): the constraints it appears in, with coefficients.
    touches: [Vec<Vec<(usize, i64)>>; 3],
}

impl Search {
    pub(super) fn new(n: usize, lo: [i64; 3], hi: [i64; 3], constraints: Vec<Constraint>) -> Self {
        let mut touches: [Vec<Vec<(usize, i64)>>; 3] = std::array::from_fn(|_| vec![Vec::new(); n]);
        for (ci, c) in constraints.iter().enumerate() {
            for (g, per_option) in touches.iter_mut().enumerate() {
                if c.group.is_none_or(|cg| cg == g) {
                    for (o, coef) in &c.terms {
                        per_option[*o].push((ci, *coef));
                    }
                }
            }
        }
        // Start with every asked respondent answering, spread evenly.
        let x: [Vec<i64>; 3] = std::array::from_fn(|g| {
            let n_i = n as i64;
            (0..n_i)
                .map(|i| hi[g] / n_i + i64::from(i < hi[g] % n_i))
                .collect()
        });
        let mut s = Self {
            x,
            lo,
            hi,
            values: vec![0; constraints.len()],
            constraints,
            touches,
        };
        for g in 0..3 {
            for o in 0..n {
                for (ci, coef) in s.touches[g][o].clone() {
                    s.values[ci] += coef * s.x[g][o];
                }
            }
        }
        s
    }

    fn cost_of(&self, ci: usize, value: i64) -> i64 {
        let c = &self.constraints[ci];
        c.weight * ((value - c.target).abs() - c.slack).max(0)
    }

    pub(super) fn met(&self, ci: usize) -> bool {
        self.cost_of(ci, self.values[ci]) == 0
    }

    /// The change in cost if x[g][o] += d for each (g, o, d).
    fn delta(&self, changes: &[(usize, usize, i64)]) -> i64 {
        let mut touched: Vec<(usize, i64)> = Vec::new();
        for (g, o, d) in changes {
            for (ci, coef) in &self.touches[*g][*o] {
                match touched.iter_mut().find(|(c, _)| c == ci) {
                    Some((_, acc)) => *acc += coef * d,
                    None => touched.push((*ci, coef * d)),
                }
            }
        }
        touched
            .iter()
            .map(|(ci, dv)| {
                self.cost_of(*ci, self.values[*ci] + dv) - self.cost_of(*ci, self.values[*ci])
            })
            .sum()
    }

    fn feasible(&self, changes: &[(usize, usize, i64)]) -> bool {
        let mut totals: [i64; 3] = std::array::from_fn(|g| self.x[g].iter().sum());
        for (g, o, d) in changes {
            if self.x[*g][*o] + d < 0 {
                return false;
            }
            totals[*g] += d;
        }
        (0..3).all(|g| totals[g] >= self.lo[g] && totals[g] <= self.hi[g])
    }

    fn apply(&mut self, changes: &[(usize, usize, i64)]) {
        for (g, o, d) in changes {
            self.x[*g][*o] += d;
            for (ci, coef) in self.touches[*g][*o].clone() {
                self.values[ci] += coef * d;
            }
        }
    }

    fn total_cost(&self) -> i64 {
        (0..self.constraints.len())
            .map(|ci| self.cost_of(ci, self.values[ci]))
            .sum()
    }

    /// Moves tried by the descent: within a group (shift, add, remove),
    /// across groups (the same option, or a shift in one group paired with
    /// an add or remove in another) and two-group swaps.
    fn moves(n: usize) -> Vec<Vec<(usize, usize, i64)>> {
        let mut moves = Vec::new();
        for k in [1, 3, 10] {
            for g in 0..3 {
                for a in 0..n {
                    moves.push(vec![(g, a, k)]);
                    moves.push(vec![(g, a, -k)]);
                    for b in (0..n).filter(|b| *b != a) {
                        moves.push(vec![(g, a, -k), (g, b, k)]);
                    }
                }
            }
            for g1 in 0..3 {
                for g2 in (0..3).filter(|g| *g != g1) {
                    for a in 0..n {
                        moves.push(vec![(g1, a, -k), (g2, a, k)]);
                        for b in (0..n).filter(|b| *b != a) {
                            moves.push(vec![(g1, a, -k), (g1, b, k), (g2, a, k), (g2, b, -k)]);
                            moves.push(vec![(g1, a, -k), (g2, b, k)]);
                            for c in 0..n {
                                moves.push(vec![(g1, a, -k), (g1, b, k), (g2, c, -k)]);
                                moves.push(vec![(g1, a, -k), (g1, b, k), (g2, c, k)]);
                            }
                        }
                    }
                }
            }
        }
        moves
    }

    fn descend(&mut self, moves: &[Vec<(usize, usize, i64)>]) {
        for _ in 0..10_000 {
            let mut best: (i64, Option<usize>) = (0, None);
            for (i, m) in moves.iter().enumerate() {
                if self.feasible(m) {
                    let d = self.delta(m);
                    if d < best.0 {
                        best = (d, Some(i));
                    }
                }
            }
            match best.1 {
                Some(i) => self.apply(&moves[i]),
                None => return,
            }
        }
    }

    /// Descends, then kicks the counts a few times with a fixed-seed random
    /// move and descends again, keeping the best counts found.
    pub(super) fn run(&mut self) {
        let moves = Self::moves(self.x[0].len());
        self.descend(&moves);
        let mut best = (self.total_cost(), self.x.clone());
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..400 {
            if best.0 == 0 {
                break;
            }
            // Start each kick from the best counts so far.
            if round % 20 == 19 {
                self.reset_to(&best.1);
            }
            for _ in 0..(1 + seed % 4) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let m = &moves[(seed % moves.len() as u64) as usize];
                if self.feasible(m) {
                    self.apply(m);
                }
            }
            self.descend(&moves);
            let cost = self.total_cost();
            if cost < best.0 {
                best = (cost, self.x.clone());
            }
        }
        self.reset_to(&best.1);
    }

    fn reset_to(&mut self, target: &[Vec<i64>; 3]) {
        let diff: Vec<(usize, usize, i64)> = (0..3)
            .flat_map(|g| (0..target[g].len()).map(move |o| (g, o)))
            .map(|(g, o)| (g, o, target[g][o] - self.x[g][o]))
            .filter(|(_, _, d)| *d != 0)
            .collect();
        self.apply(&diff);
    }
}

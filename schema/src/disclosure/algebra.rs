//! Exact linear algebra for the disclosure audit: row echelon forms of small
//! integer matrices, and the search for the row-space vector that depends on
//! the fewest municipalities.
//!
//! Rows are combinations of released cells, columns are atoms (municipalities
//! that every released cell treats alike), so a vector of the row space is a
//! figure an attacker can compute, and its support is the set of
//! municipalities that figure depends on. Arithmetic is on `i128` with every
//! row divided by its gcd; an overflow, which these 0/1 systems do not come
//! near, makes the search [`Undecided`] rather than wrong.

/// One row of integer coefficients, one per column.
pub type Row = Vec<i128>;

/// The search could not decide (an overflow, or too many candidate
/// supports): callers treat the system as unsafe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Undecided;

/// Most search nodes [`light_vector`] visits before giving up.
/// (The demo's län and panels take a few hundred; each node is one rank
/// computation.)
const BUDGET: u64 = 20_000;

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i128
}

/// Divides a row by the gcd of its entries and makes its first nonzero entry
/// positive, so equal lines give equal rows.
fn normalize(row: &mut Row) {
    let g = row.iter().fold(0, |g, &x| gcd(g, x));
    let sign = match row.iter().find(|&&x| x != 0) {
        Some(&x) if x < 0 => -1,
        _ => 1,
    };
    if g > 1 || sign < 0 {
        row.iter_mut().for_each(|x| *x = *x / g.max(1) * sign);
    }
}

/// A row echelon form of `rows`, taking pivots in the column order `order`
/// (which must name every column a row can be nonzero in): the nonzero rows,
/// each with its pivot column, in pivot order. Every row is zero in the
/// columns that come before its pivot in `order`.
pub fn echelon(rows: &[Row], order: &[usize]) -> Result<Vec<(usize, Row)>, Undecided> {
    let mut rest: Vec<Row> = rows
        .iter()
        .filter(|r| r.iter().any(|&x| x != 0))
        .cloned()
        .collect();
    rest.iter_mut().for_each(normalize);
    let mut out = Vec::new();
    for &col in order {
        let Some(i) = rest.iter().position(|r| r[col] != 0) else {
            continue;
        };
        let pivot = rest.swap_remove(i);
        for row in rest.iter_mut().filter(|r| r[col] != 0) {
            let (a, b) = (pivot[col], row[col]);
            for (x, &p) in row.iter_mut().zip(&pivot) {
                *x = a
                    .checked_mul(*x)
                    .zip(b.checked_mul(p))
                    .and_then(|(ax, bp)| ax.checked_sub(bp))
                    .ok_or(Undecided)?;
            }
            normalize(row);
        }
        rest.retain(|r| r.iter().any(|&x| x != 0));
        out.push((col, pivot));
    }
    Ok(out)
}

/// The dimension of the space `rows` span.
pub fn rank(rows: &[Row]) -> Result<usize, Undecided> {
    let columns = rows.first().map_or(0, Vec::len);
    let order: Vec<usize> = (0..columns).collect();
    Ok(echelon(rows, &order)?.len())
}

/// Whether `v` is a linear combination of `rows`.
pub fn in_span(rows: &[Row], v: &Row) -> Result<bool, Undecided> {
    let mut with = rows.to_vec();
    with.push(v.clone());
    Ok(rank(&with)? == rank(rows)?)
}

/// A nonzero vector of the row space of `rows` whose support weighs less
/// than `limit` (column `c` weighs `weights[c]`), if there is one: the
/// lightest such vector.
///
/// Such a vector is zero on every column that alone weighs `limit` or more,
/// so the search is confined to the row space's part W over the light
/// columns, with basis B (d rows). A vector `y·B` is zero outside a set S of
/// columns exactly when `y` is orthogonal to every column of B outside S, so
/// W holds a nonzero vector within S exactly when the columns outside S do
/// not span all d dimensions — when S meets every basis of B's columns (S
/// holds a cocircuit of their matroid).
///
/// The search ([`Cocircuit`]) branches on that fact: take a basis T of the
/// columns not yet chosen, built from the columns that cannot be chosen
/// (too heavy for what is left below the limit, or ruled out) first; a light
/// enough S must take one of T's other columns, so branch on each in turn,
/// ruling out the earlier ones in the later branches. Every support lighter
/// than the best found so far is reached, so the result is exact. Ranks are
/// computed modulo a 61-bit prime (a rank modulo p never exceeds the true
/// one, so "spans" is never claimed wrongly) and the vector found is then
/// computed exactly.
pub fn light_vector(
    rows: &[Row],
    weights: &[usize],
    limit: usize,
) -> Result<Option<Row>, Undecided> {
    let (heavy, light): (Vec<usize>, Vec<usize>) =
        (0..weights.len()).partition(|&c| weights[c] >= limit);
    let order: Vec<usize> = heavy.iter().chain(&light).copied().collect();
    let basis: Vec<Row> = echelon(rows, &order)?
        .into_iter()
        .filter(|(pivot, _)| weights[*pivot] < limit)
        .map(|(_, row)| row)
        .collect();
    if basis.is_empty() {
        return Ok(None);
    }
    let active: Vec<usize> = light
        .into_iter()
        .filter(|&c| basis.iter().any(|r| r[c] != 0))
        .collect();
    let mut search = Cocircuit {
        columns: active
            .iter()
            .map(|&c| basis.iter().map(|r| modp(r[c])).collect())
            .collect(),
        weights: active.iter().map(|&c| weights[c]).collect(),
        dim: basis.len(),
        limit,
        nodes: 0,
        best: None,
    };
    let mut chosen = vec![false; active.len()];
    let mut ruled_out = vec![false; active.len()];
    search.branch(&mut chosen, &mut ruled_out, 0)?;
    let Some((_, support)) = search.best else {
        return Ok(None);
    };
    // The vector itself, exactly: pivots outside the support first, so a
    // row left with its pivot inside it is zero everywhere else.
    let inside: Vec<usize> = support.iter().map(|&i| active[i]).collect();
    let order: Vec<usize> = active
        .iter()
        .filter(|c| !inside.contains(c))
        .chain(&inside)
        .copied()
        .collect();
    echelon(&basis, &order)?
        .into_iter()
        .find(|(pivot, _)| inside.contains(pivot))
        .map(|(_, row)| Some(row))
        .ok_or(Undecided)
}

/// The prime of the rank computations, 2^61 - 1.
const P: u64 = (1 << 61) - 1;

fn modp(x: i128) -> u64 {
    x.rem_euclid(i128::from(P)) as u64
}

/// a * b modulo P, for a, b < P: 2^61 = 1 modulo P, so the high bits fold
/// onto the low ones.
fn mulp(a: u64, b: u64) -> u64 {
    let x = u128::from(a) * u128::from(b);
    let folded = (x as u64 & P) + (x >> 61) as u64;
    if folded >= P { folded - P } else { folded }
}

/// The inverse modulo P (Fermat: a^(P-2)).
fn invp(a: u64) -> u64 {
    let (mut base, mut exp, mut acc) = (a, P - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mulp(acc, base);
        }
        base = mulp(base, base);
        exp >>= 1;
    }
    acc
}

/// The branching search of [`light_vector`] over the light columns of W's
/// basis, each a vector of `dim` residues.
struct Cocircuit {
    columns: Vec<Vec<u64>>,
    weights: Vec<usize>,
    dim: usize,
    limit: usize,
    nodes: u64,
    /// The lightest support found: its weight and columns.
    best: Option<(usize, Vec<usize>)>,
}

impl Cocircuit {
    /// The greedy basis of the columns in `order`, as indices; fewer than
    /// `dim` of them when those columns do not span.
    fn basis(&self, order: &[usize]) -> Vec<usize> {
        let mut reduced: Vec<(usize, Vec<u64>)> = Vec::new();
        let mut taken = Vec::new();
        for &c in order {
            let mut v = self.columns[c].clone();
            for (pivot, b) in &reduced {
                let f = v[*pivot];
                if f != 0 {
                    for (x, &y) in v.iter_mut().zip(b) {
                        let sum = *x + P - mulp(f, y);
                        *x = if sum >= P { sum - P } else { sum };
                    }
                }
            }
            if let Some(pivot) = v.iter().position(|&x| x != 0) {
                let inv = invp(v[pivot]);
                v.iter_mut().for_each(|x| *x = mulp(*x, inv));
                reduced.push((pivot, v));
                taken.push(c);
                if taken.len() == self.dim {
                    break;
                }
            }
        }
        taken
    }

    /// Weight still allowed after `spent`: below the best found, or the limit.
    fn left(&self, spent: usize) -> usize {
        let cap = self.best.as_ref().map_or(self.limit, |b| b.0);
        cap.saturating_sub(1 + spent)
    }

    fn branch(
        &mut self,
        chosen: &mut [bool],
        ruled_out: &mut [bool],
        spent: usize,
    ) -> Result<(), Undecided> {
        self.nodes += 1;
        if self.nodes > BUDGET {
            return Err(Undecided);
        }
        let left = self.left(spent);
        let mut order: Vec<usize> = (0..self.columns.len()).filter(|&c| !chosen[c]).collect();
        // Columns that cannot be chosen first, then the heavier ones.
        order.sort_by_key(|&c| {
            let fixed = ruled_out[c] || self.weights[c] > left;
            (!fixed, std::cmp::Reverse(self.weights[c]), c)
        });
        let basis = self.basis(&order);
        if basis.len() < self.dim {
            let support = (0..chosen.len()).filter(|&c| chosen[c]).collect();
            self.best = Some((spent, support));
            return Ok(());
        }
        let mut ruled_here = Vec::new();
        let mut result = Ok(());
        for c in basis {
            if ruled_out[c] || self.weights[c] > self.left(spent) {
                continue;
            }
            chosen[c] = true;
            result = self.branch(chosen, ruled_out, spent + self.weights[c]);
            chosen[c] = false;
            if result.is_err() {
                break;
            }
            ruled_out[c] = true;
            ruled_here.push(c);
        }
        ruled_here.iter().for_each(|&r| ruled_out[r] = false);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[&[i128]]) -> Vec<Row> {
        r.iter().map(|x| x.to_vec()).collect()
    }

    #[test]
    fn rank_and_span() {
        let m = rows(&[&[1, 1, 0], &[0, 1, 1], &[1, 2, 1]]);
        assert_eq!(rank(&m), Ok(2));
        assert_eq!(in_span(&m, &vec![1, 0, -1]), Ok(true));
        assert_eq!(in_span(&m, &vec![1, 0, 0]), Ok(false));
    }

    #[test]
    fn arithmetic_modulo_the_prime() {
        let slow = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64;
        for (a, b) in [
            (P - 1, P - 1),
            (P - 1, 2),
            (1 << 60, 1 << 60),
            (12345, P - 12345),
            (0, 7),
        ] {
            assert_eq!(mulp(a, b), slow(a, b), "{a} * {b}");
        }
        assert_eq!(mulp(invp(12345), 12345), 1);
        assert_eq!(modp(-1), P - 1);
    }

    #[test]
    fn a_whole_minus_its_shown_part_is_found() {
        // Columns: atoms of 3 and 40 municipalities; rows: the whole and the big part.
        let m = rows(&[&[1, 1], &[0, 1]]);
        assert_eq!(light_vector(&m, &[3, 40], 5), Ok(Some(vec![1, 0])));
        // Only the whole: nothing below 5.
        assert_eq!(light_vector(&m[..1], &[3, 40], 5), Ok(None));
    }

    #[test]
    fn the_lightest_of_several_is_found_and_heavy_ones_are_allowed() {
        // Atoms 2, 2, 3 municipalities; released: a+b, b+c, and a+b+c.
        // The space holds c (3) and a + b (4), both light; and a - c etc.
        let m = rows(&[&[1, 1, 0], &[0, 1, 1], &[1, 1, 1]]);
        let v = light_vector(&m, &[2, 2, 3], 5).unwrap().unwrap();
        let support: Vec<usize> = (0..3).filter(|&c| v[c] != 0).collect();
        assert!(support == vec![0] || support == vec![1] || support == vec![2]);
        // With a limit of 2 nothing is lighter than 2.
        assert_eq!(light_vector(&m, &[2, 2, 3], 2), Ok(None));
    }

    #[test]
    fn a_difference_of_two_small_atoms_counts_both() {
        // a + x and b + x with x heavy: a - b depends on a and b (2 + 2).
        let m = rows(&[&[1, 0, 1], &[0, 1, 1]]);
        assert_eq!(
            light_vector(&m, &[2, 2, 50], 5).unwrap(),
            Some(vec![1, -1, 0])
        );
        assert_eq!(light_vector(&m, &[3, 3, 50], 5).unwrap(), None);
    }
}

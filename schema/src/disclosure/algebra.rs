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

/// Most candidate supports [`light_vector`] tries before giving up.
const BUDGET: u128 = 20_000;

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

fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

/// Every `k`-element subset of `items`, in lexicographic order.
fn subsets(items: &[usize], k: usize) -> impl Iterator<Item = Vec<usize>> + '_ {
    let mut index: Option<Vec<usize>> = (k <= items.len()).then(|| (0..k).collect());
    std::iter::from_fn(move || {
        let current = index.clone()?;
        let subset = current.iter().map(|&i| items[i]).collect();
        // Advance to the next combination, or end.
        let mut next = current;
        let n = items.len();
        let mut i = k;
        loop {
            if i == 0 {
                index = None;
                break;
            }
            i -= 1;
            if next[i] < n - k + i {
                next[i] += 1;
                for j in i + 1..k {
                    next[j] = next[j - 1] + 1;
                }
                index = Some(next);
                break;
            }
        }
        Some(subset)
    })
}

/// A nonzero vector of the row space of `rows` whose support weighs less
/// than `limit` (column `c` weighs `weights[c]`), if there is one.
///
/// Such a vector is zero on every column that alone weighs `limit` or more,
/// so the search is confined to the row space's part W over the light
/// columns. Every vector of W of least weight contains the support of an
/// *elementary* vector of W (one of minimal support), and each elementary
/// vector spans {w in W : w = 0 on Z} for some set Z of dim(W) - 1 columns,
/// so trying every such Z finds the lightest one.
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
    let dim = basis.len();
    let active: Vec<usize> = light
        .into_iter()
        .filter(|&c| basis.iter().any(|r| r[c] != 0))
        .collect();
    if binomial(active.len(), dim - 1) > BUDGET {
        return Err(Undecided);
    }
    let weight = |v: &Row| -> usize {
        v.iter()
            .zip(weights)
            .filter(|(x, _)| **x != 0)
            .map(|(_, w)| w)
            .sum()
    };
    let mut best: Option<(usize, Row)> = None;
    for zeros in subsets(&active, dim - 1) {
        let order: Vec<usize> = zeros
            .iter()
            .chain(active.iter().filter(|c| !zeros.contains(c)))
            .copied()
            .collect();
        let free: Vec<Row> = echelon(&basis, &order)?
            .into_iter()
            .filter(|(pivot, _)| !zeros.contains(pivot))
            .map(|(_, row)| row)
            .collect();
        if let [v] = free.as_slice() {
            let w = weight(v);
            if w < limit && best.as_ref().is_none_or(|(b, _)| w < *b) {
                best = Some((w, v.clone()));
            }
        }
    }
    Ok(best.map(|(_, v)| v))
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
    fn subsets_are_all_there() {
        let all: Vec<Vec<usize>> = subsets(&[3, 5, 7, 9], 2).collect();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], vec![3, 5]);
        assert_eq!(all[5], vec![7, 9]);
        assert_eq!(subsets(&[1, 2], 0).count(), 1);
        assert_eq!(subsets(&[1, 2], 3).count(), 0);
        assert_eq!(binomial(30, 3), 4060);
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

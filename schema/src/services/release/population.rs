//! Who is where: the municipalities behind every cell of a plan.

use std::collections::{BTreeSet, HashMap};

use entity::{answer, municipality, municipality_segment};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::PlannedTable;
use crate::disclosure::{self, Members, Released};
use crate::error::ApiResult;
use crate::services::segments::{self, NATIONAL_CODE, SegmentDirectory};

/// The `classification_id` of a planned län table: län are not a
/// classification, but their table is planned and read like one.
pub const COUNTY_TABLE: &str = "COUNTY";

/// Who is where: every municipality's segments under some classifications
/// and its län, and who responded in some rounds, as [`Members`] sets.
pub(super) struct Population {
    /// (classification, municipality index) -> (group, subgroup)
    segments: HashMap<(String, usize), (String, String)>,
    /// Municipality index -> county code.
    counties: HashMap<usize, String>,
    /// Every county code, in order.
    county_codes: BTreeSet<String>,
    directories: HashMap<String, SegmentDirectory>,
    respondents: HashMap<Uuid, Members>,
    nobody: Members,
    /// Municipality code -> index.
    pub(super) index: HashMap<String, usize>,
}

impl Population {
    pub(super) async fn load(
        db: &impl ConnectionTrait,
        classifications: &[String],
        rounds: &[Uuid],
    ) -> ApiResult<Self> {
        let rows = municipality_segment::Entity::find()
            .filter(municipality_segment::Column::ClassificationId.is_in(classifications.to_vec()))
            .all(db)
            .await?;
        let codes: BTreeSet<&str> = rows.iter().map(|r| r.municipality_code.as_str()).collect();
        let index: HashMap<&str, usize> = codes.into_iter().zip(0..).collect();
        let segments = rows
            .iter()
            .map(|r| {
                (
                    (
                        r.classification_id.clone(),
                        index[r.municipality_code.as_str()],
                    ),
                    (r.group_code.clone(), r.subgroup_code.clone()),
                )
            })
            .collect();
        let located: Vec<(String, String)> = municipality::Entity::find()
            .select_only()
            .column(municipality::Column::Code)
            .column(municipality::Column::CountyCode)
            .into_tuple()
            .all(db)
            .await?;
        let county_codes = located.iter().map(|(_, c)| c.clone()).collect();
        let counties = located
            .into_iter()
            .filter_map(|(code, county)| index.get(code.as_str()).map(|&i| (i, county)))
            .collect();
        let mut directories = HashMap::new();
        for c in classifications {
            directories.insert(c.clone(), segments::directory(db, c).await?);
        }
        let answered: Vec<(Uuid, String)> = answer::Entity::find()
            .select_only()
            .column(answer::Column::RoundId)
            .column(answer::Column::MunicipalityCode)
            .distinct()
            .filter(answer::Column::RoundId.is_in(rounds.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        let mut respondents: HashMap<Uuid, Members> = HashMap::new();
        for (round, code) in answered {
            if let Some(&i) = index.get(code.as_str()) {
                respondents.entry(round).or_default().insert(i);
            }
        }
        let index = index.into_iter().map(|(c, i)| (c.to_owned(), i)).collect();
        Ok(Self {
            segments,
            counties,
            county_codes,
            directories,
            respondents,
            nobody: Members::default(),
            index,
        })
    }

    pub(super) fn respondents(&self, round: Uuid) -> &Members {
        self.respondents.get(&round).unwrap_or(&self.nobody)
    }

    /// The municipalities that responded in every one of `rounds`.
    pub(super) fn panel(&self, rounds: impl IntoIterator<Item = Uuid>) -> Members {
        rounds
            .into_iter()
            .map(|r| self.respondents(r).clone())
            .reduce(|x, y| x.and(&y))
            .unwrap_or_default()
    }

    /// The members of `who` in the segment `code` of a classification (or
    /// in the county `code` of [`COUNTY_TABLE`]).
    pub(super) fn segment(&self, classification: &str, code: &str, who: &Members) -> Members {
        if classification == COUNTY_TABLE {
            return who
                .iter()
                .filter(|m| {
                    self.counties
                        .get(m)
                        .is_some_and(|c| code == NATIONAL_CODE || c == code)
                })
                .collect();
        }
        who.iter()
            .filter(|&m| {
                self.segments
                    .get(&(classification.to_owned(), m))
                    .is_some_and(|(g, s)| code == NATIONAL_CODE || g == code || s == code)
            })
            .collect()
    }

    /// The nation, groups and subgroups of a classification over `who`.
    pub(super) fn table(
        &self,
        classification: &str,
        who: &Members,
        families: Vec<usize>,
    ) -> disclosure::Table {
        let mut cells = vec![disclosure::Cell {
            code: NATIONAL_CODE.into(),
            parent: None,
            members: self.segment(classification, NATIONAL_CODE, who),
        }];
        if let Some(directory) = self.directories.get(classification) {
            for s in &directory.segments {
                cells.push(disclosure::Cell {
                    code: s.code.clone(),
                    parent: Some(s.parent.clone().unwrap_or_else(|| NATIONAL_CODE.into())),
                    members: self.segment(classification, &s.code, who),
                });
            }
        }
        disclosure::Table { families, cells }
    }

    /// The nation and its counties over `who`.
    pub(super) fn county_table(&self, who: &Members, families: Vec<usize>) -> disclosure::Table {
        let cells = std::iter::once((NATIONAL_CODE, None))
            .chain(
                self.county_codes
                    .iter()
                    .map(|c| (c.as_str(), Some(NATIONAL_CODE.to_owned()))),
            )
            .map(|(code, parent)| disclosure::Cell {
                code: code.to_owned(),
                parent,
                members: self.segment(COUNTY_TABLE, code, who),
            })
            .collect();
        disclosure::Table { families, cells }
    }

    /// The cells of a stored table that show question `key`'s counts, as
    /// released sets over `who`.
    pub(super) fn released_for<'a>(
        &'a self,
        family: usize,
        table: &'a PlannedTable,
        who: &'a Members,
        key: &'a str,
    ) -> impl Iterator<Item = Released> + 'a {
        table
            .shown()
            .filter(move |code| table.question_hidden(key, code).is_none())
            .map(move |code| Released {
                family,
                members: self.segment(&table.classification_id, code, who),
                exempts: true,
            })
    }

    /// The shown cells of a stored table as released sets over `who`
    /// (`exempts`: see [`Released::exempts`]; false for panels).
    pub(super) fn released<'a>(
        &'a self,
        family: usize,
        table: &'a PlannedTable,
        who: &'a Members,
        exempts: bool,
    ) -> impl Iterator<Item = Released> + 'a {
        table.shown().map(move |code| Released {
            family,
            exempts,
            members: self.segment(&table.classification_id, code, who),
        })
    }
}

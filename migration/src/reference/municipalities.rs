//! The municipalities and their groups under SKR's 2017 and 2023
//! classifications, from the CSV files.

use std::collections::BTreeMap;

use super::{
    ClassificationSpec, DataError, Membership, MunicipalityRow, SKR2017, SKR2023, SegmentSpec,
};

const MUNICIPALITIES_CSV: &str = include_str!("../../data/municipalities.csv");
const GROUPS_2017_CSV: &str = include_str!("../../data/municipality-groups-2017.csv");

/// The names of the three main groups; the same in SKR's 2017 and 2023 groupings.
const GROUP_NAMES: [(&str, &str); 3] = [
    ("A", "Storstäder och storstadsnära kommuner"),
    ("B", "Större städer och kommuner nära större stad"),
    ("C", "Mindre städer/tätorter och landsbygdskommuner"),
];

fn csv_rows(
    file: &'static str,
    text: &'static str,
    columns: usize,
) -> Result<Vec<(usize, Vec<&'static str>)>, DataError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != columns {
            return Err(DataError::Csv {
                file,
                line: i + 1,
                message: format!("expected {columns} fields, found {}", fields.len()),
            });
        }
        rows.push((i + 1, fields));
    }
    Ok(rows)
}

fn classification(
    id: &'static str,
    name: &'static str,
    year: i32,
    is_current: bool,
    rows: &[(String, String, String, String)],
) -> ClassificationSpec {
    let mut subgroups = BTreeMap::new();
    let mut members = Vec::with_capacity(rows.len());
    for (code, group, subgroup, subgroup_name) in rows {
        subgroups
            .entry(subgroup.clone())
            .or_insert_with(|| (group.clone(), subgroup_name.clone()));
        members.push(Membership {
            municipality_code: code.clone(),
            group_code: group.clone(),
            subgroup_code: subgroup.clone(),
        });
    }
    let mut segments: Vec<SegmentSpec> = GROUP_NAMES
        .iter()
        .map(|(code, name)| SegmentSpec {
            code: (*code).into(),
            parent: None,
            name: (*name).into(),
        })
        .collect();
    segments.extend(
        subgroups
            .into_iter()
            .map(|(code, (group, name))| SegmentSpec {
                code,
                parent: Some(group),
                name,
            }),
    );
    ClassificationSpec {
        id,
        name,
        year,
        is_current,
        segments,
        members,
    }
}

fn check_code(file: &'static str, line: usize, code: &str) -> Result<(), DataError> {
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DataError::Csv {
            file,
            line,
            message: format!("bad municipality code {code:?}"),
        })
    }
}

fn check_segment(
    file: &'static str,
    line: usize,
    group: &str,
    subgroup: &str,
) -> Result<(), DataError> {
    let ok = GROUP_NAMES.iter().any(|(g, _)| *g == group)
        && subgroup.len() == 2
        && subgroup.starts_with(group)
        && subgroup.as_bytes()[1].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(DataError::Csv {
            file,
            line,
            message: format!("bad group/subgroup {group}/{subgroup}"),
        })
    }
}

pub(super) fn parse_municipalities() -> Result<(Vec<MunicipalityRow>, ClassificationSpec), DataError>
{
    const FILE: &str = "municipalities.csv";
    let mut municipalities = Vec::new();
    let mut groups = Vec::new();
    for (line, f) in csv_rows(FILE, MUNICIPALITIES_CSV, 7)? {
        check_code(FILE, line, f[0])?;
        check_segment(FILE, line, f[4], f[5])?;
        municipalities.push(MunicipalityRow {
            code: f[0].into(),
            name: f[1].into(),
            county_code: f[2].into(),
            county_name: f[3].into(),
        });
        groups.push((f[0].into(), f[4].into(), f[5].into(), f[6].into()));
    }
    let spec = classification(
        SKR2023,
        "SKR kommungruppsindelning 2023",
        2023,
        true,
        &groups,
    );
    Ok((municipalities, spec))
}

pub(super) fn parse_groups_2017() -> Result<ClassificationSpec, DataError> {
    const FILE: &str = "municipality-groups-2017.csv";
    let mut groups = Vec::new();
    for (line, f) in csv_rows(FILE, GROUPS_2017_CSV, 5)? {
        check_code(FILE, line, f[0])?;
        check_segment(FILE, line, f[2], f[3])?;
        groups.push((f[0].into(), f[2].into(), f[3].into(), f[4].into()));
    }
    Ok(classification(
        SKR2017,
        "SKL kommungruppsindelning 2017",
        2017,
        false,
        &groups,
    ))
}

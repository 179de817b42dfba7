//! The one tabular encoder: every file mognad writes as rows (open data in
//! CSV, XLSX and JSON, `mognad export-answers`) goes through it, so a
//! spreadsheet reads every file the same safe way.
//!
//! **Formula injection.** A spreadsheet takes a CSV field that starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return as a formula (OWASP's
//! "CSV Injection"): a kommun's free-text answer `=HYPERLINK(…)` or an
//! area title `=1+2` would run when SKR opens the file. Text cells are
//! therefore written with a leading apostrophe when they start with one
//! of those characters (also after leading white space, which some
//! import options trim) — or with an apostrophe, so that the encoding is
//! reversible ([`unneutralised`] undoes it, as the importer does). Numbers
//! are numbers ([`Cell::Int`], [`Cell::Float`]) and are never touched, so
//! `-1.5` stays a number. XLSX stores text as strings (never formulas) and
//! JSON as JSON strings: both are written as they are.

use std::borrow::Cow;
use std::io::Write;

use serde_json::json;

/// A file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    /// The format of a file extension.
    pub fn parse(extension: &str) -> Option<Self> {
        match extension {
            "csv" => Some(Self::Csv),
            "xlsx" => Some(Self::Xlsx),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// The media type of a file in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
        }
    }
}

/// One value of a table: written as text, a number or a boolean in each
/// format; `Empty` is an empty CSV field, an empty cell, JSON `null`.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Empty,
}

impl Cell {
    /// The cell as a CSV field: numbers as written, text neutralised.
    pub fn csv(&self) -> Cow<'_, str> {
        match self {
            Self::Text(t) => neutralised(t),
            Self::Int(n) => Cow::Owned(n.to_string()),
            Self::Float(x) => Cow::Owned(x.to_string()),
            Self::Bool(b) => Cow::Owned(b.to_string()),
            Self::Empty => Cow::Borrowed(""),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::Text(t) => json!(t),
            Self::Int(n) => json!(n),
            Self::Float(x) => json!(x),
            Self::Bool(b) => json!(b),
            Self::Empty => serde_json::Value::Null,
        }
    }
}

/// The characters that make a spreadsheet read a field as a formula (and
/// the apostrophe that escapes them).
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// Text as a CSV field a spreadsheet shows as text: a leading apostrophe
/// before a formula character (or an apostrophe).
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if starts_a_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A field read back: [`neutralised`] undone (an apostrophe before a
/// formula character or an apostrophe is dropped; any other text is kept
/// as written).
pub fn unneutralised(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if starts_a_formula(rest) => rest,
        _ => field,
    }
}

/// Whether a spreadsheet could read `text` as a formula: it starts with a
/// formula character, also after leading spaces or line breaks (which
/// some spreadsheets' import options trim).
fn starts_a_formula(text: &str) -> bool {
    text.starts_with(FORMULA_STARTS) || text.trim_start().starts_with(FORMULA_STARTS)
}

/// Rows written as CSV to a writer, one at a time (for files too large
/// to hold, such as a round's answers).
pub struct CsvRows<W: Write>(csv::Writer<W>);

impl<W: Write> CsvRows<W> {
    /// A CSV file with its header.
    pub fn new(out: W, columns: &[&str]) -> csv::Result<Self> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(columns.iter().map(|c| neutralised(c).into_owned()))?;
        Ok(Self(writer))
    }

    /// Writes one row.
    pub fn row(&mut self, cells: &[Cell]) -> csv::Result<()> {
        self.0
            .write_record(cells.iter().map(|c| c.csv().into_owned()))
    }

    /// Flushes the rows and hands the writer back.
    pub fn finish(self) -> Result<W, String> {
        self.0.into_inner().map_err(|e| e.error().to_string())
    }
}

/// A whole table: its columns and rows.
pub struct Table {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The table as a file in `format`.
    pub fn write(&self, format: Format) -> Result<Vec<u8>, String> {
        match format {
            Format::Csv => {
                let mut out = CsvRows::new(Vec::new(), self.columns).map_err(|e| e.to_string())?;
                for row in &self.rows {
                    out.row(row).map_err(|e| e.to_string())?;
                }
                out.finish()
            }
            Format::Json => {
                let rows: Vec<serde_json::Value> = self
                    .rows
                    .iter()
                    .map(|row| {
                        let object: serde_json::Map<String, serde_json::Value> = self
                            .columns
                            .iter()
                            .zip(row)
                            .map(|(c, v)| ((*c).to_owned(), v.json()))
                            .collect();
                        serde_json::Value::Object(object)
                    })
                    .collect();
                serde_json::to_vec(&json!({ "columns": self.columns, "rows": rows }))
                    .map_err(|e| e.to_string())
            }
            Format::Xlsx => self.xlsx().map_err(|e| e.to_string()),
        }
    }

    /// Text as strings (never formulas), numbers and booleans as such.
    fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, name) in (0u16..).zip(self.columns) {
            sheet.write_string_with_format(0, c, *name, &bold)?;
        }
        for (r, row) in (1u32..).zip(&self.rows) {
            for (c, cell) in (0u16..).zip(row) {
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Float(x) => {
                        sheet.write_number(r, c, *x)?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, c, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        book.save_to_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for attack in [
            "=HYPERLINK(\"http://evil\",\"Klicka\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
            "  =1+2",
            "\n@SUM(A1)",
        ] {
            let field = Cell::Text(attack.to_owned()).csv().into_owned();
            assert!(field.starts_with('\''), "{attack:?} → {field:?}");
            assert_eq!(unneutralised(&field), attack);
        }
        assert_eq!(Cell::Text("Storstäder".into()).csv(), "Storstäder");
        assert_eq!(Cell::Int(-5).csv(), "-5");
        assert_eq!(Cell::Float(-1.5).csv(), "-1.5");
        // An apostrophe is escaped too, so reading back is exact.
        assert_eq!(neutralised("'=1"), "''=1");
        assert_eq!(unneutralised("''=1"), "'=1");
        assert_eq!(unneutralised("'tis"), "'tis");
    }

    #[test]
    fn a_table_in_every_format() {
        let table = Table {
            columns: &["a", "b"],
            rows: vec![vec![Cell::Text("=1+2".into()), Cell::Int(-3)]],
        };
        let csv = String::from_utf8(table.write(Format::Csv).unwrap()).unwrap();
        assert_eq!(csv, "a,b\n'=1+2,-3\n");
        let json: serde_json::Value =
            serde_json::from_slice(&table.write(Format::Json).unwrap()).unwrap();
        assert_eq!(json["rows"][0]["a"], "=1+2");
        assert!(table.write(Format::Xlsx).unwrap().starts_with(b"PK"));
    }
}

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
//!
//! **Dialects.** CSV is RFC 4180 by default (UTF-8 without a BOM, `,`,
//! `.` as the decimal point): what programs read. [`Dialect::ExcelSv`] is
//! what Excel with Swedish settings opens by a double click: a UTF-8 BOM
//! (or `Storstäder` shows as `StorstÃ¤der`), `;` between fields (Excel's
//! list separator where `,` is the decimal comma) and decimal commas. Codes
//! with leading zeros ([`Cell::Code`], `01`, `0114`) are written there as
//! `="01"`, the one way Excel keeps a CSV field's zeros; they are digits
//! only, never a caller's text. Decimals ([`Cell::Decimal`]) are rounded
//! to their stated places in CSV and XLSX and kept whole in JSON.

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

/// How a CSV file is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 4180: UTF-8 without a BOM, `,` between fields, `.` decimals.
    #[default]
    Rfc4180,
    /// Swedish Excel: a UTF-8 BOM, `;` between fields, decimal commas,
    /// codes with leading zeros as `="01"`.
    ExcelSv,
}

impl Dialect {
    /// The dialect a `?dialect=` value names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "rfc4180" => Some(Self::Rfc4180),
            "excel-sv" => Some(Self::ExcelSv),
            _ => None,
        }
    }
}

/// One value of a table: written as text, a number or a boolean in each
/// format; `Empty` is an empty CSV field, an empty cell, JSON `null`.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    /// A code of digits whose leading zeros matter (`01`, `0114`): text in
    /// every format. Build it with [`Cell::code`].
    Code(String),
    Int(i64),
    Float(f64),
    /// A fraction shown to the given number of decimals in CSV and XLSX,
    /// whole in JSON.
    Decimal(f64, u8),
    Bool(bool),
    Empty,
}

impl Cell {
    /// A code: [`Cell::Code`] when it is digits only, else text.
    pub fn code(code: &str) -> Self {
        if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
            Self::Code(code.to_owned())
        } else {
            Self::Text(code.to_owned())
        }
    }

    /// The cell as an RFC 4180 CSV field: numbers as written, text neutralised.
    pub fn csv(&self) -> Cow<'_, str> {
        self.csv_in(Dialect::Rfc4180)
    }

    /// The cell as a CSV field of `dialect`.
    pub fn csv_in(&self, dialect: Dialect) -> Cow<'_, str> {
        let comma = |text: String| match dialect {
            Dialect::Rfc4180 => Cow::Owned(text),
            Dialect::ExcelSv => Cow::Owned(text.replace('.', ",")),
        };
        match self {
            Self::Text(t) => neutralised(t),
            Self::Code(c) if dialect == Dialect::ExcelSv && c.starts_with('0') => {
                Cow::Owned(format!("=\"{c}\""))
            }
            Self::Code(c) => Cow::Borrowed(c),
            Self::Int(n) => Cow::Owned(n.to_string()),
            Self::Float(x) => comma(x.to_string()),
            Self::Decimal(x, places) => comma(format!("{:.*}", usize::from(*places), x)),
            Self::Bool(b) => Cow::Owned(b.to_string()),
            Self::Empty => Cow::Borrowed(""),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Self::Text(t) | Self::Code(t) => json!(t),
            Self::Int(n) => json!(n),
            Self::Float(x) | Self::Decimal(x, _) => json!(x),
            Self::Bool(b) => json!(b),
            Self::Empty => serde_json::Value::Null,
        }
    }
}

/// A table's row as a JSON object whose keys come in the columns' order.
struct JsonRow<'a>(&'a [&'a str], &'a [Cell]);

impl serde::Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (column, cell) in self.0.iter().zip(self.1) {
            map.serialize_entry(column, &cell.json())?;
        }
        map.end()
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
pub struct CsvRows<W: Write>(csv::Writer<W>, Dialect);

impl<W: Write> CsvRows<W> {
    /// An RFC 4180 CSV file with its header.
    pub fn new(out: W, columns: &[&str]) -> csv::Result<Self> {
        Self::in_dialect(out, columns, Dialect::Rfc4180)
    }

    /// A CSV file of `dialect` with its header.
    pub fn in_dialect(mut out: W, columns: &[&str], dialect: Dialect) -> csv::Result<Self> {
        let mut builder = csv::WriterBuilder::new();
        if dialect == Dialect::ExcelSv {
            out.write_all("\u{feff}".as_bytes())?;
            builder.delimiter(b';');
        }
        let mut writer = builder.from_writer(out);
        writer.write_record(columns.iter().map(|c| neutralised(c).into_owned()))?;
        Ok(Self(writer, dialect))
    }

    /// Writes one row.
    pub fn row(&mut self, cells: &[Cell]) -> csv::Result<()> {
        let dialect = self.1;
        self.0
            .write_record(cells.iter().map(|c| c.csv_in(dialect).into_owned()))
    }

    /// Flushes the rows and hands the writer back.
    pub fn finish(self) -> Result<W, String> {
        self.0.into_inner().map_err(|e| e.error().to_string())
    }
}

/// A whole table: its columns and rows, and the name of its XLSX sheet.
pub struct Table {
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
    /// The sheet's name (cut to Excel's 31 characters; `[]:*?/\` dropped).
    pub sheet: String,
}

impl Table {
    /// The table as a file in `format` (CSV as RFC 4180).
    pub fn write(&self, format: Format) -> Result<Vec<u8>, String> {
        self.write_in(format, Dialect::Rfc4180)
    }

    /// The table as a file in `format`, a CSV file in `dialect`.
    pub fn write_in(&self, format: Format, dialect: Dialect) -> Result<Vec<u8>, String> {
        match format {
            Format::Csv => {
                let mut out = CsvRows::in_dialect(Vec::new(), self.columns, dialect)
                    .map_err(|e| e.to_string())?;
                for row in &self.rows {
                    out.row(row).map_err(|e| e.to_string())?;
                }
                out.finish()
            }
            Format::Json => {
                #[derive(serde::Serialize)]
                struct File<'a> {
                    columns: &'a [&'a str],
                    rows: Vec<JsonRow<'a>>,
                }
                let rows = self.rows.iter().map(|r| JsonRow(self.columns, r)).collect();
                serde_json::to_vec(&File {
                    columns: self.columns,
                    rows,
                })
                .map_err(|e| e.to_string())
            }
            Format::Xlsx => self.xlsx().map_err(|e| e.to_string()),
        }
    }

    /// Text as strings (never formulas), numbers and booleans as such; a
    /// named sheet, the header bold and frozen with a filter on it, columns
    /// as wide as their contents, decimals rounded and formatted to their
    /// places.
    fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::Format as Style;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&self.sheet))?;
        let bold = Style::new().set_bold();
        let places: Vec<Style> = (0..=6)
            .map(|p| match p {
                0 => Style::new().set_num_format("0"),
                p => Style::new().set_num_format(format!("0.{}", "0".repeat(p))),
            })
            .collect();
        for (c, name) in (0u16..).zip(self.columns) {
            sheet.write_string_with_format(0, c, *name, &bold)?;
        }
        for (r, row) in (1u32..).zip(&self.rows) {
            for (c, cell) in (0u16..).zip(row) {
                match cell {
                    Cell::Text(t) | Cell::Code(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Int(n) => {
                        sheet.write_number_with_format(r, c, *n as f64, &places[0])?;
                    }
                    Cell::Float(x) => {
                        sheet.write_number(r, c, *x)?;
                    }
                    Cell::Decimal(x, p) => {
                        let p = usize::from(*p).min(6);
                        // Rounded as the CSV writes it, so both files agree on ties.
                        let rounded = format!("{x:.p$}").parse().unwrap_or(*x);
                        sheet.write_number_with_format(r, c, rounded, &places[p])?;
                    }
                    Cell::Bool(b) => {
                        sheet.write_boolean(r, c, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        let last_row = u32::try_from(self.rows.len()).unwrap_or(u32::MAX);
        let last_column = u16::try_from(self.columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofilter(0, 0, last_row, last_column)?;
        sheet.autofit();
        book.save_to_buffer()
    }
}

/// A name Excel takes for a sheet: at most 31 characters, none of
/// `[]:*?/\`, not empty.
fn sheet_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    let name = name.trim_matches('\'').to_owned();
    if name.is_empty() { "data".into() } else { name }
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
            sheet: "t".into(),
        };
        let csv = String::from_utf8(table.write(Format::Csv).unwrap()).unwrap();
        assert_eq!(csv, "a,b\n'=1+2,-3\n");
        let json: serde_json::Value =
            serde_json::from_slice(&table.write(Format::Json).unwrap()).unwrap();
        assert_eq!(json["rows"][0]["a"], "=1+2");
        assert!(table.write(Format::Xlsx).unwrap().starts_with(b"PK"));
    }

    #[test]
    fn swedish_excel_gets_a_bom_semicolons_decimal_commas_and_codes_with_zeros() {
        let table = Table {
            columns: &["code", "name", "mean", "share"],
            rows: vec![vec![
                Cell::code("01"),
                Cell::Text("Storstäder; nära".into()),
                Cell::Decimal(1.237_931_034_482_758_5, 2),
                Cell::Float(0.5),
            ]],
            sheet: "t".into(),
        };
        let csv = table.write_in(Format::Csv, Dialect::ExcelSv).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "\u{feff}code;name;mean;share\n\"=\"\"01\"\"\";\"Storstäder; nära\";1,24;0,5\n"
        );
        let plain = String::from_utf8(table.write(Format::Csv).unwrap()).unwrap();
        assert_eq!(
            plain,
            "code,name,mean,share\n01,Storstäder; nära,1.24,0.5\n"
        );
        // JSON: full precision, keys in the columns' order.
        let json = String::from_utf8(table.write(Format::Json).unwrap()).unwrap();
        assert!(
            json.contains(
                r#"{"code":"01","name":"Storstäder; nära","mean":1.2379310344827585,"share":0.5}"#
            ),
            "{json}"
        );
        assert_eq!(Cell::code("A1"), Cell::Text("A1".into()));
        assert_eq!(sheet_name("maturity [2023]: a/b*c?"), "maturity 2023 abc");
    }
}

//! The committed SDL equals what the code builds, and the schema keeps the
//! contract's names, types and arguments.

use std::collections::HashMap;

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql");

#[tokio::test]
async fn committed_sdl_equals_the_built_schema() {
    let built = schema::sdl();
    if std::env::var("MOGNAD_UPDATE_SCHEMA").is_ok() {
        std::fs::write(COMMITTED, &built).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == built,
        "schema/schema.graphql is stale: run `MOGNAD_UPDATE_SCHEMA=1 cargo test committed_sdl` and commit it"
    );
    let app = spawn_app().await;
    assert_eq!(
        app.get("/schema.graphql").await.text().await.unwrap(),
        built
    );
}

/// `Type.field -> (type, [(arg, type)])` and enum values, from an SDL document.
fn signatures(doc: &ServiceDocument) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let name = t.node.name.node.to_string();
        match &t.node.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    let args: Vec<String> = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    out.insert(
                        format!("{name}.{}", f.node.name.node),
                        format!("({}) {}", args.join(", "), f.node.ty.node),
                    );
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    out.insert(
                        format!("{name}.{}", f.node.name.node),
                        f.node.ty.node.to_string(),
                    );
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    out.insert(format!("{name}.{}", v.node.value.node), "enum value".into());
                }
            }
            _ => {
                out.insert(name, "type".into());
            }
        }
    }
    out
}

#[test]
fn the_schema_matches_the_contract_where_it_implements_it() {
    let contract = include_str!("../data/contract-core.graphql");
    let contract = signatures(&parse_schema(contract).unwrap());
    let ours = signatures(&parse_schema(schema::sdl()).unwrap());
    let mut mismatches = Vec::new();
    for (key, sig) in &contract {
        if let Some(mine) = ours.get(key)
            && mine != sig
        {
            mismatches.push(format!("{key}: contract {sig}, schema {mine}"));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");

    // The schema is a superset of the contract: every type, field, argument and enum value.
    let mut missing: Vec<&String> = contract.keys().filter(|k| !ours.contains_key(*k)).collect();
    missing.sort();
    assert!(missing.is_empty(), "missing from the schema: {missing:?}");
    assert!(
        schema::sdl().contains("input AnswerValue @oneOf"),
        "AnswerValue is a @oneOf input"
    );
}

/// Every type, field, argument and enum value of the SDL without a description.
fn undescribed(doc: &ServiceDocument) -> Vec<String> {
    let mut out = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(t) = def else {
            continue;
        };
        let name = t.node.name.node.to_string();
        if t.node.description.is_none() {
            out.push(name.clone());
        }
        let mut field = |field: &str, described: bool, args: Vec<(String, bool)>| {
            if !described {
                out.push(format!("{name}.{field}"));
            }
            for (arg, described) in args {
                if !described {
                    out.push(format!("{name}.{field}({arg})"));
                }
            }
        };
        match &t.node.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    let args = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| (a.node.name.node.to_string(), a.node.description.is_some()))
                        .collect();
                    field(&f.node.name.node, f.node.description.is_some(), args);
                }
            }
            TypeKind::InputObject(o) => {
                for f in &o.fields {
                    field(&f.node.name.node, f.node.description.is_some(), Vec::new());
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    field(&v.node.value.node, v.node.description.is_some(), Vec::new());
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_type_field_argument_and_enum_value_is_described() {
    let missing = undescribed(&parse_schema(schema::sdl()).unwrap());
    assert!(
        missing.is_empty(),
        "{} without a description: {missing:#?}",
        missing.len()
    );
}

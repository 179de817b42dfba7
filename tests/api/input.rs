//! Input discipline, walked by introspection: every string (and ID)
//! argument and input field of every query and mutation gets a NUL, a
//! control character, a string over the length cap, 1 MB, and a lone UTF-16
//! surrogate — as an admin, a kommun and anonymously. None may ever be an
//! internal error; the first three are BAD_USER_INPUT before anything runs.

use serde_json::{Map, Value, json};

use crate::helpers::{TestApp, admin_token, error_codes, kommun_token, spawn_app};

const INTROSPECTION: &str = "{ __schema { queryType { name } mutationType { name } \
    types { kind name isOneOf inputFields { name type { ...T } } fields { name args { name type { ...T } } type { ...T } } enumValues { name } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// A type reference as GraphQL writes it (`[String!]!`).
fn render(t: &Value) -> String {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", render(&t["ofType"])),
        "LIST" => format!("[{}]", render(&t["ofType"])),
        _ => t["name"].as_str().unwrap().to_owned(),
    }
}

/// The named type under the wrappers.
fn named(t: &Value) -> &Value {
    match t["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => named(&t["ofType"]),
        _ => t,
    }
}

struct Types(Value);

impl Types {
    fn get(&self, name: &str) -> &Value {
        self.0
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
    }

    /// Paths to every string or ID inside a value of type `t`.
    fn strings(&self, t: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>, depth: usize) {
        let n = named(t);
        match (n["kind"].as_str().unwrap(), n["name"].as_str().unwrap()) {
            ("SCALAR", "String" | "ID") => out.push(path),
            ("INPUT_OBJECT", name) if depth < 4 => {
                for f in self.get(name)["inputFields"].as_array().unwrap() {
                    let mut p = path.clone();
                    p.push(f["name"].as_str().unwrap().to_owned());
                    self.strings(&f["type"], p, out, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// A plausible value of type `t`, with `attack` at `target`.
    fn value(&self, t: &Value, target: Option<&[String]>, attack: &str) -> Value {
        if t["kind"] == "LIST" {
            return json!([self.value(&t["ofType"], target, attack)]);
        }
        let n = named(t);
        match (n["kind"].as_str().unwrap(), n["name"].as_str().unwrap()) {
            ("SCALAR", "String" | "ID") if target == Some(&[]) => json!(attack),
            ("SCALAR", "ID") => json!("00000000-0000-0000-0000-000000002023"),
            ("SCALAR", "String") => json!("risk_managed"),
            ("SCALAR", "Int") => json!(2031),
            ("SCALAR", "Float") => json!(1.0),
            ("SCALAR", "Boolean") => json!(false),
            ("SCALAR", "DateTime") => json!("2031-01-01T00:00:00Z"),
            ("ENUM", name) => self.get(name)["enumValues"][0]["name"].clone(),
            ("INPUT_OBJECT", name) => {
                let input = self.get(name);
                let one_of = input["isOneOf"] == true;
                let mut fields = Map::new();
                for f in input["inputFields"].as_array().unwrap() {
                    let field = f["name"].as_str().unwrap();
                    let aimed = target
                        .and_then(|t| t.split_first())
                        .filter(|(first, _)| *first == field)
                        .map(|(_, rest)| rest);
                    let required = f["type"]["kind"] == "NON_NULL";
                    let wanted = aimed.is_some()
                        || (one_of && fields.is_empty() && target.is_none_or(|t| t.is_empty()))
                        || (!one_of && required);
                    if wanted && (!one_of || fields.is_empty()) {
                        fields.insert(field.to_owned(), self.value(&f["type"], aimed, attack));
                    }
                }
                Value::Object(fields)
            }
            _ => Value::Null,
        }
    }
}

/// One request per string position of every root field's arguments.
fn requests(schema: &Value, attack: &str) -> Vec<(String, Value)> {
    let types = Types(schema["types"].clone());
    let mut out = Vec::new();
    for (root, keyword) in [("queryType", "query"), ("mutationType", "mutation")] {
        let root = types.get(schema[root]["name"].as_str().unwrap());
        for field in root["fields"].as_array().unwrap() {
            let name = field["name"].as_str().unwrap();
            let args = field["args"].as_array().unwrap();
            let selection = match named(&field["type"])["kind"].as_str().unwrap() {
                "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
                _ => "",
            };
            for (i, arg) in args.iter().enumerate() {
                let mut positions = Vec::new();
                types.strings(&arg["type"], Vec::new(), &mut positions, 0);
                for position in positions {
                    let mut variables = Map::new();
                    let mut declared = Vec::new();
                    let mut passed = Vec::new();
                    for (j, a) in args.iter().enumerate() {
                        let arg_name = a["name"].as_str().unwrap();
                        let target = (i == j).then_some(position.as_slice());
                        if target.is_none() && a["type"]["kind"] != "NON_NULL" {
                            continue;
                        }
                        variables
                            .insert(arg_name.to_owned(), types.value(&a["type"], target, attack));
                        declared.push(format!("${arg_name}: {}", render(&a["type"])));
                        passed.push(format!("{arg_name}: ${arg_name}"));
                    }
                    let query = format!(
                        "{keyword}({}) {{ {name}({}){selection} }}",
                        declared.join(", "),
                        passed.join(", ")
                    );
                    out.push((query, Value::Object(variables)));
                }
            }
        }
    }
    out
}

async fn send(app: &TestApp, token: Option<&str>, body: String) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_string_argument_refuses_bad_text_and_never_fails_inside() {
    let app = spawn_app().await;
    let schema = app.data(INTROSPECTION, json!({})).await["__schema"].clone();
    let tokens = [Some(admin_token()), Some(kommun_token("1280")), None];
    let long = "x".repeat(10_001);
    let mut checked = 0;
    for (attack, refused) in [("a\u{0}b", true), ("a\u{7}b", true), (long.as_str(), true)] {
        for (query, variables) in requests(&schema, attack) {
            for token in &tokens {
                let body = json!({ "query": query, "variables": variables }).to_string();
                let (status, response) = send(&app, token.as_deref(), body).await;
                assert!(status < 500, "{query} {variables}: {status}");
                let codes = error_codes(&response);
                assert!(
                    !codes.iter().any(|c| c == "INTERNAL_SERVER_ERROR"),
                    "{query}: {response}"
                );
                if refused {
                    assert_eq!(codes, ["BAD_USER_INPUT"], "{query} {variables}: {response}");
                }
                checked += 1;
            }
        }
    }
    println!("input positions checked: {checked}");
    assert!(checked > 100, "positions walked: {checked}");
    // 1 MB: refused by the body limit. A lone surrogate: not JSON.
    let (query, variables) = requests(&schema, "PLACEHOLDER").remove(0);
    let body = json!({ "query": query, "variables": variables }).to_string();
    let (status, response) = send(
        &app,
        None,
        body.replace("PLACEHOLDER", &"y".repeat(1 << 20)),
    )
    .await;
    assert_eq!(
        (status, error_codes(&response)),
        (413, vec!["QUERY_TOO_COMPLEX".to_owned()])
    );
    let (status, response) = send(&app, None, body.replace("PLACEHOLDER", "\\ud800")).await;
    assert_eq!(
        (status, error_codes(&response)),
        (400, vec!["BAD_USER_INPUT".to_owned()])
    );
    // The same in a literal of the document itself.
    let (status, response) = send(
        &app,
        None,
        json!({ "query": "{ surveyRound(id: \"a\\u0000b\") { year } }" }).to_string(),
    )
    .await;
    assert_eq!(
        (status, error_codes(&response)),
        (200, vec!["BAD_USER_INPUT".to_owned()])
    );
}

// Only the policy makes a kommun's scope, from a verified principal.
fn main() {
    let code = schema::domain::KommunCode::parse("1280").unwrap();
    let _ = schema::KommunScope::new(code, "me".into());
}

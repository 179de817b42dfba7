// Only the policy makes a kommun's scope, from a verified principal.
fn main() {
    let _ = schema::KommunScope::new("1280".into(), "me".into());
}

// A kommun's scope cannot be written out by hand.
fn main() {
    let code = schema::domain::KommunCode::parse("1280").unwrap();
    let _ = schema::KommunScope {
        code,
        subject: "me".into(),
    };
}

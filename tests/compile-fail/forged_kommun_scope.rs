// A kommun's scope cannot be written out by hand.
fn main() {
    let _ = schema::KommunScope {
        code: "1280".into(),
        subject: "me".into(),
    };
}

// An admin's scope cannot be written out by hand either.
fn main() {
    let _ = schema::policy::AdminScope {
        actor: "me".into(),
    };
}

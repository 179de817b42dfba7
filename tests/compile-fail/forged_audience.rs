// An SKR audience (who sees people, every event, private caching) cannot be
// made without a scope only the policy hands out.
fn main() {
    let _ = schema::policy::Audience::Admin(schema::policy::SkrScope {
        subject: "me".into(),
    });
}

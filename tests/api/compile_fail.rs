//! Tenancy by type, proven by the compiler: code that reads a kommun's
//! rows without its scope, forges a scope, or runs the round life cycle
//! without an admin's scope does not build (the expected errors are the
//! `.stderr` files beside each case in `tests/compile-fail/`).

#[test]
fn services_cannot_be_called_without_their_scope() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
